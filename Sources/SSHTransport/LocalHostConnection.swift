import Engine
import Foundation
import SSH
import System

#if canImport(Glibc)
    import Glibc
#endif

/// A ``HostConnection`` to the controller itself, with no SSH, for a host the inventory marks
/// `connection: local` (Ansible's `ansible_connection: local`). Each command is a local `/bin/sh`
/// in a process group of its own, started in the home directory as a login's would be, running the
/// same fixed ``ShellBootstrap`` as over SSH: the script, a sudo password and the step's stdin go on
/// its stdin, stdout and stderr come on pipes of their own, the escalation is answered as over SSH
/// (``BootstrapExchange``). So everything a remote host has — the host lock and its fencing token,
/// process-group records, backups, uploads, `become`, stops — works the same on the controller.
///
/// A timeout or a cancelled task stops the process group, TERM then KILL 3 s apart.
final class LocalHostConnection: BootstrapConnection {
    let summary: ConnectionSummary
    private let host: String
    var hostName: String { host }
    /// The secrets' environment variables: not passed on, as they do not reach a remote host either.
    private let unsetting: Set<String>

    init(host: String, reason: String, unsetting: Set<String>) {
        self.host = host
        self.unsetting = unsetting
        summary = ConnectionSummary(
            endpoint: "the controller", hostKey: "", authMethod: "none", setupTime: .zero, user: NSUserName(), transport: "local",
            transportReason: reason)
    }

    func close() async {}

    /// Runs one command to its end: a local shell given the bootstrap, its input sent as the
    /// exchange gives it, its output read, the deadline and cancellation turned into a stop of its
    /// process group.
    func converse(_ start: BootstrapExchange, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?)
        async throws -> CommandOutcome
    {
        let pipes: StreamPipes
        let child: ChildProcess
        do {
            pipes = try StreamPipes()
            child = try ChildProcess.withPipes("/bin/sh", ["-c", "cd || exit 125; " + ShellBootstrap.command], pipes: pipes, unsetting: unsetting)
        } catch {
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): cannot start a local shell: \(error)")
        }
        var exchange = start
        var sent = 0
        let started = ContinuousClock.now
        let (commandDeadline, promptDeadline, firstDeadline) = exchange.deadlines(from: started, timeout: timeout)
        var deadline = firstDeadline
        var timedOut = false
        var cancelled = false
        var escalationTimedOut = false
        var signalsSent = 0
        var exitedAt: ContinuousClock.Instant?
        var pause = Duration.zero
        while true {
            if sent < exchange.input.count, !timedOut, !cancelled {
                pipes.send(exchange.input.subdata(in: sent..<exchange.input.count))
                sent = exchange.input.count
            }
            if !exchange.awaitingEscalation || timedOut || cancelled { pipes.endInput() }
            var moved = pipes.exchange { isOutput, chunk in
                let wasAwaiting = exchange.awaitingEscalation
                let passed = exchange.receive(chunk, stdout: isOutput)
                if wasAwaiting, exchange.escalationStarted, !timedOut, !cancelled { deadline = commandDeadline }
                if !passed.isEmpty { output?(isOutput, passed) }
            }
            if exitedAt == nil, !child.isRunning {
                exitedAt = .now
                moved = true
            }
            // What the shell's children still write once it has exited (a background job keeping the
            // pipes open is not waited for past 2 s).
            if let exitedAt, pipes.outputEnded || ContinuousClock.now >= exitedAt.advanced(by: .seconds(2)) { break }
            let now = ContinuousClock.now
            if exitedAt == nil {
                if !cancelled, !timedOut, Task.isCancelled {
                    cancelled = true
                    deadline = now
                }
                if let due = deadline, now >= due {
                    if !cancelled, !timedOut {
                        if exchange.awaitingEscalation, let promptDeadline, commandDeadline.map({ promptDeadline <= $0 }) ?? true {
                            escalationTimedOut = true
                        }
                        timedOut = true
                    }
                    signalsSent += 1
                    // The whole process group: the bootstrap shell leads it.
                    if signalsSent <= 2 { _ = kill(-child.pid, signalsSent == 1 ? SIGTERM : SIGKILL) }
                    deadline = now.advanced(by: .seconds(3))
                }
            }
            pause = StreamPipes.pause(after: pause, moved: moved, longest: .milliseconds(5))
            if pause == .zero { await Task.yield() } else { await Pause.uncancelled(pause) }
        }
        if cancelled { throw TransportError(kind: .cancelled, host: host, message: "\(host): cancelled") }
        var result = CommandOutcome(
            exitCode: nil, timedOut: timedOut, stdout: exchange.stdout.data, stderr: exchange.stderr.data,
            omitted: exchange.stdout.omitted + exchange.stderr.omitted, duration: started.duration(to: .now))
        if !timedOut, let ending = child.ending {
            result.exitCode = ending.exitCode.map(Int.init)
            result.signal = ending.signal.map(Self.signalName)
        }
        if !result.succeeded { result.escalationFailure = exchange.escalationFailure(timedOut: escalationTimedOut) }
        return result
    }

    /// A signal's name as SSH says it (`KILL`, `TERM`).
    static func signalName(_ number: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "HUP", SIGINT: "INT", SIGQUIT: "QUIT", SIGILL: "ILL", SIGABRT: "ABRT", SIGFPE: "FPE", SIGKILL: "KILL",
            SIGSEGV: "SEGV", SIGPIPE: "PIPE", SIGALRM: "ALRM", SIGTERM: "TERM", SIGUSR1: "USR1", SIGUSR2: "USR2",
        ]
        return names[number] ?? String(number)
    }
}
