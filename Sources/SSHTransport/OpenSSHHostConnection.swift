import Engine
import Foundation
import SSH
import System

#if canImport(Glibc)
    import Glibc
#endif

/// A ``HostConnection`` through a host's OpenSSH ControlMaster (``OpenSSHMaster``): each command is
/// a session asked of the master over its socket (``OpenSSHMuxSession``), no process of its own,
/// whose exec request is the fixed ``ShellBootstrap``; its script and stdin go on a pipe, stdout and
/// stderr come on pipes of their own, the escalation answered as libssh2's transport does
/// (``BootstrapExchange``).
///
/// A timeout or a cancelled task stops the remote process group as libssh2's transport does: `kill`
/// through the master, TERM then KILL 3 s apart. OpenSSH passes a command's death by a signal on as
/// no exit status at all, so which signal is not known.
final class OpenSSHHostConnection: BootstrapConnection {
    let summary: ConnectionSummary
    private let master: OpenSSHMaster
    private let host: String
    var hostName: String { host }

    init(master: OpenSSHMaster, host: String, summary: ConnectionSummary) {
        self.master = master
        self.host = host
        self.summary = summary
    }

    func close() async { await master.close() }

    /// Runs one command to its end: a session asked of the master, its input sent as the exchange
    /// gives it, its output read, the deadline and cancellation turned into a stop of the remote
    /// process group.
    func converse(_ start: BootstrapExchange, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?)
        async throws -> CommandOutcome
    {
        guard master.isAlive else { throw lost("the connection had already ended") }
        master.trimLog()
        let pipes: StreamPipes
        let session: OpenSSHMuxSession
        do {
            pipes = try StreamPipes()
            session = try OpenSSHMuxSession(socket: master.socket, command: ShellBootstrap.command, pipes: pipes)
        } catch let failure as OpenSSHMuxSession.Failure {
            throw master.isAlive ? TransportError(kind: .connectionLost, host: host, message: "\(host): \(failure)") : lost(master.said())
        }
        var exchange = start
        var sent = 0
        let started = ContinuousClock.now
        let (commandDeadline, promptDeadline, firstDeadline) = exchange.deadlines(from: started, timeout: timeout)
        var deadline = firstDeadline
        var stop: Stop?
        var escalationTimedOut = false
        var signalsSent = 0
        var drainUntil: ContinuousClock.Instant?
        var ended: Ending?
        var pause = Duration.zero
        while true {
            if sent < exchange.input.count, stop == nil {
                pipes.send(exchange.input.subdata(in: sent..<exchange.input.count))
                sent = exchange.input.count
            }
            // The input ends once all of it is out, unless the escalation still has to be answered; a
            // stop before the escalation started ends it too, so that a sudo still waiting gives up.
            if !exchange.awaitingEscalation || stop != nil { pipes.endInput() }
            var moved = pipes.exchange { isOutput, chunk in
                let wasAwaiting = exchange.awaitingEscalation
                let passed = exchange.receive(chunk, stdout: isOutput)
                // Once started, the command's own bound again (unless a stop already set its own).
                if wasAwaiting, exchange.escalationStarted, stop == nil { deadline = commandDeadline }
                if !passed.isEmpty { output?(isOutput, passed) }
            }
            if ended == nil {
                do {
                    if try session.poll() { moved = true }
                    if let status = session.exitStatus { ended = .exited(status) }
                } catch let failure as OpenSSHMuxSession.Failure {
                    // The master closed the session without an exit status: a signal killed the
                    // command (ssh passes no signal on), or the master itself is gone.
                    ended = failure.refused ? .refused(failure.description) : .unsaid
                }
                // What the master still writes into the pipes once it has said the exit status.
                if ended != nil { drainUntil = ContinuousClock.now.advanced(by: .seconds(2)) }
            }
            if let ended, pipes.outputEnded || ContinuousClock.now >= (drainUntil ?? .now) {
                // A session closed without a word: a signal (the master, alive, answers at once), or
                // the connection going down (the master answers nothing and is gone a moment later).
                if ended == .unsaid, stop == nil, !(await OpenSSHMuxSession.answers(socket: master.socket, within: .seconds(1))) {
                    await master.waitForEnd(upTo: .seconds(2))
                }
                return try outcome(ended, exchange, stop: stop, escalationTimedOut: escalationTimedOut, started: started)
            }
            let now = ContinuousClock.now
            if ended == nil {
                if stop == nil, Task.isCancelled {
                    stop = .cancelled
                    deadline = now
                }
                if let due = deadline, now >= due {
                    if stop == nil {
                        // The escalation's own bound passed (not the step's, when that is the shorter).
                        if exchange.awaitingEscalation, let promptDeadline, commandDeadline.map({ promptDeadline <= $0 }) ?? true {
                            escalationTimedOut = true
                        }
                        stop = .timedOut
                    }
                    signalsSent += 1
                    if signalsSent <= 2, let group = exchange.processGroup {
                        sendSignal(group, signalsSent == 1 ? "TERM" : "KILL")
                    } else if signalsSent > 2 || exchange.processGroup == nil {
                        // An unknown group, or one that outlived TERM and KILL: given up on, as libssh2's
                        // transport gives up on its channel.
                        return try outcome(.unsaid, exchange, stop: stop, escalationTimedOut: escalationTimedOut, started: started)
                    }
                    deadline = now.advanced(by: .seconds(3))
                }
            }
            pause = StreamPipes.pause(after: pause, moved: moved, longest: .milliseconds(5))
            if pause == .zero { await Task.yield() } else { await Pause.uncancelled(pause) }
        }
    }

    /// How the master ended a session.
    private enum Ending: Equatable {
        case exited(Int32), unsaid, refused(String)
    }

    private enum Stop { case timedOut, cancelled }

    /// What the session's end means: the command's exit, its stop, a signal, or the connection gone.
    private func outcome(_ ended: Ending, _ exchange: BootstrapExchange, stop: Stop?, escalationTimedOut: Bool, started: ContinuousClock.Instant)
        throws -> CommandOutcome
    {
        if stop == .cancelled { throw TransportError(kind: .cancelled, host: host, message: "\(host): cancelled") }
        if case .refused(let why) = ended {
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): \(why) (the server's MaxSessions?)")
        }
        if ended == .unsaid && stop == nil {
            if !master.isAlive { throw lost(master.said()) }
            if exchange.processGroup == nil {
                throw TransportError(kind: .connectionLost, host: host, message: "\(host): the command could not be started through OpenSSH")
            }
        }
        var result = CommandOutcome(
            exitCode: nil, timedOut: stop == .timedOut, stdout: exchange.stdout.data, stderr: exchange.stderr.data,
            omitted: exchange.stdout.omitted + exchange.stderr.omitted, duration: started.duration(to: .now))
        if stop == nil {
            switch ended {
            case .exited(let status): result.exitCode = Int(status)
            // OpenSSH passes a signal death on as no exit status at all: which signal is not said.
            default: result.signal = ""
            }
        }
        if !result.succeeded { result.escalationFailure = exchange.escalationFailure(timedOut: escalationTimedOut) }
        return result
    }

    private func lost(_ why: String) -> TransportError {
        TransportError(
            kind: .connectionLost, host: host, message: "\(host): connection lost (OpenSSH)\(why.isEmpty ? "" : ": " + why)")
    }

    /// `kill -s SIGNAL -- -GROUP` through the master, not waited for (bounded).
    private func sendSignal(_ group: Int32, _ name: String) {
        let socket = master.socket
        Task.detached {
            guard let pipes = try? StreamPipes(),
                let session = try? OpenSSHMuxSession(socket: socket, command: "kill -s \(name) -- -\(group) 2>/dev/null", pipes: pipes)
            else { return }
            pipes.endInput()
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while ContinuousClock.now < deadline, (try? session.poll()) != nil, !session.ended {
                _ = pipes.exchange { _, _ in }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
    }
}
