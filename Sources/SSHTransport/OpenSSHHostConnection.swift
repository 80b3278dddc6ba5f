import Engine
import Foundation
import SSH
import System

#if canImport(Glibc)
    import Glibc
#endif

/// A ``HostConnection`` through a host's OpenSSH ControlMaster (``OpenSSHMaster``): each command is
/// an `ssh -S SOCKET` client whose exec request is the fixed ``ShellBootstrap`` (the controller's
/// `ps` shows nothing else), its script and stdin on the client's stdin, stdout and stderr on pipes
/// of their own, the escalation answered as libssh2's transport does (``BootstrapExchange``).
///
/// A timeout or a cancelled task stops the remote process group as libssh2's transport does: `kill`
/// through the master, TERM then KILL 3 s apart; the local client is killed only if the remote
/// command outlives both. OpenSSH's client cannot tell a remote command killed by a signal from
/// one that exited 255: both are exit 255.
final class OpenSSHHostConnection: HostConnection {
    let summary: ConnectionSummary
    private let master: OpenSSHMaster
    private let ssh: String
    private let host: String
    /// Variables of golive's environment its ssh clients do not get (the secrets' sources).
    private let unsetting: Set<String>
    private static let captureLimit = 128 * 1024

    init(master: OpenSSHMaster, ssh: String, host: String, summary: ConnectionSummary, unsetting: Set<String>) {
        self.unsetting = unsetting
        self.master = master
        self.ssh = ssh
        self.host = host
        self.summary = summary
    }

    /// The client's arguments for `command` through the master: no config of the user's is read (the
    /// master holds every setting), and without the master it cannot connect on its own.
    private func arguments(_ command: String) -> [String] {
        let socket = (try? OpenSSHConfig.path(master.socket)) ?? master.socket
        return ["-F", "/dev/null"]
            + OpenSSHConfig.arguments([
                ("ControlPath", socket), ("ControlMaster", "no"), ("BatchMode", "yes"), ("ProxyCommand", "/bin/false"),
                ("LogLevel", "ERROR"),
            ]) + ["-T", "-e", "none", "--", "golive-master", command]
    }

    func run(_ command: String, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?) async throws -> CommandOutcome {
        try await converse(
            BootstrapExchange(command: command, stdin: nil, dialogue: nil, captureLimit: Self.captureLimit), timeout: timeout,
            output: output)
    }

    func run(
        _ command: String, escalation: Escalation, script: String, stdin: Data?, timeout: Duration?,
        output: (@Sendable (Bool, Data) -> Void)?
    ) async throws -> CommandOutcome {
        let frame = ShellBootstrap.input(command: escalation.script(script), stdin: stdin)
        let dialogue = EscalationDialogue(escalation: escalation, script: frame)
        return try await converse(
            BootstrapExchange(command: command, stdin: nil, dialogue: dialogue, captureLimit: Self.captureLimit), timeout: timeout,
            output: output)
    }

    func upload(_ data: Data, to path: String, mode: Int) async throws {
        let temporary = SSHConnection.temporaryName(for: path)
        let (tmp, target) = (ShellQuote.quote(temporary), ShellQuote.quote(path))
        try await write(
            data, path: path,
            script: "set -C; umask 077; cat > \(tmp) && chmod \(String(mode, radix: 8)) \(tmp) && mv -f \(tmp) \(target) "
                + "|| { rm -f \(tmp); exit 1; }")
    }

    func stage(_ data: Data, beside path: String) async throws -> String {
        let temporary = SSHConnection.temporaryName(for: path)
        let tmp = ShellQuote.quote(temporary)
        try await write(data, path: path, script: "set -C; umask 077; cat > \(tmp) && { sync \(tmp) 2>/dev/null || :; } || { rm -f \(tmp); exit 1; }")
        return temporary
    }

    /// Sends `data` as the stdin of `script` (which writes it beside `path`).
    private func write(_ data: Data, path: String, script: String) async throws {
        let exchange = BootstrapExchange(command: script, stdin: data, dialogue: nil, captureLimit: Self.captureLimit)
        let outcome = try await converse(exchange, timeout: nil, output: nil)
        guard outcome.succeeded else {
            let said = outcome.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw TransportError(
                kind: .transfer, host: host, message: "\(host): writing \(path): \(said.isEmpty ? "exit \(outcome.exitCode ?? -1)" : said)")
        }
    }

    func close() async { await master.close() }

    /// Runs one client to its end: its input sent as the exchange gives it, its output read, the
    /// deadline and cancellation turned into a stop of the remote process group.
    private func converse(_ start: BootstrapExchange, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?)
        async throws -> CommandOutcome
    {
        guard master.isAlive else { throw lost("the connection had already ended") }
        master.trimLog()
        let command = ShellBootstrap.command
        let process: PipedProcess
        do {
            process = try PipedProcess(ssh, arguments(command), unsetting: unsetting)
        } catch {
            throw TransportError(kind: .unreachable, host: host, message: "\(host): cannot start ssh: \(error)")
        }
        var exchange = start
        var sent = 0
        let started = ContinuousClock.now
        let commandDeadline = timeout.map { started.advanced(by: $0) }
        var deadline = commandDeadline
        var promptDeadline: ContinuousClock.Instant?
        if let dialogue = exchange.dialogue {
            // The escalation has its own, shorter bound until the escalated shell starts.
            let prompt = started.advanced(by: dialogue.escalation.promptTimeout)
            promptDeadline = prompt
            deadline = deadline.map { min($0, prompt) } ?? prompt
        }
        var stop: Stop?
        var escalationTimedOut = false
        var signalsSent = 0
        var drainUntil: ContinuousClock.Instant?
        var status: Int32?
        var pause = Duration.zero
        while true {
            if sent < exchange.input.count, stop == nil {
                process.send(exchange.input.subdata(in: sent..<exchange.input.count))
                sent = exchange.input.count
            }
            // The input ends once all of it is out, unless the escalation still has to be answered; a
            // stop before the escalation started ends it too, so that a sudo still waiting gives up.
            if !exchange.awaitingEscalation || stop != nil { process.endInput() }
            let moved = process.exchange { isOutput, chunk in
                let wasAwaiting = exchange.awaitingEscalation
                let passed = exchange.receive(chunk, stdout: isOutput)
                // Once started, the command's own bound again (unless a stop already set its own).
                if wasAwaiting, exchange.escalationStarted, stop == nil { deadline = commandDeadline }
                if !passed.isEmpty { output?(isOutput, passed) }
            }
            if status == nil {
                do {
                    status = try process.exitStatus()
                } catch {
                    throw TransportError(kind: .connectionLost, host: host, message: "\(host): \(error)")
                }
                // What the master still writes into the pipes once the client has its exit status.
                if status != nil { drainUntil = ContinuousClock.now.advanced(by: .seconds(2)) }
            }
            if let status, process.outputEnded || ContinuousClock.now >= (drainUntil ?? .now) {
                return try outcome(status, exchange, stop: stop, escalationTimedOut: escalationTimedOut, started: started)
            }
            let now = ContinuousClock.now
            if status == nil {
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
                        // Unknown group, or it outlived TERM and KILL: the local client goes.
                        process.signalGroup(SIGKILL)
                    }
                    deadline = now.advanced(by: .seconds(3))
                }
            }
            pause = PipedProcess.pause(after: pause, moved: moved)
            if pause == .zero { await Task.yield() } else { await Self.sleep(pause) }
        }
    }

    private enum Stop { case timedOut, cancelled }

    /// What the client's end means: the command's exit, its stop, or the connection gone.
    private func outcome(_ status: Int32, _ exchange: BootstrapExchange, stop: Stop?, escalationTimedOut: Bool, started: ContinuousClock.Instant)
        throws -> CommandOutcome
    {
        if stop == .cancelled { throw TransportError(kind: .cancelled, host: host, message: "\(host): cancelled") }
        if status == 255 && stop == nil && (exchange.processGroup == nil || !master.isAlive) {
            // 255 is ssh's own failure; without the bootstrap's line the command never started.
            let said = String(decoding: exchange.stderr.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !master.isAlive { throw lost(master.said()) }
            if said.contains("open failed") || said.contains("refused by peer") {
                throw TransportError(
                    kind: .connectionLost, host: host,
                    message: "\(host): the server refused another session on the connection (sshd's MaxSessions?): \(said)")
            }
            throw TransportError(
                kind: .connectionLost, host: host,
                message: "\(host): the command could not be started through OpenSSH\(said.isEmpty ? "" : ": " + said)")
        }
        var result = CommandOutcome(
            exitCode: stop == nil ? Int(status) : nil, timedOut: stop == .timedOut, stdout: exchange.stdout.data,
            stderr: exchange.stderr.data, omitted: exchange.stdout.omitted + exchange.stderr.omitted, duration: started.duration(to: .now))
        if !result.succeeded { result.escalationFailure = exchange.escalationFailure(timedOut: escalationTimedOut) }
        return result
    }

    private func lost(_ why: String) -> TransportError {
        TransportError(
            kind: .connectionLost, host: host, message: "\(host): connection lost (OpenSSH)\(why.isEmpty ? "" : ": " + why)")
    }

    /// `kill -s SIGNAL -- -GROUP` through the master, not waited for.
    private func sendSignal(_ group: Int32, _ name: String) {
        let arguments = arguments("kill -s \(name) -- -\(group) 2>/dev/null")
        let (ssh, unsetting) = (self.ssh, self.unsetting)
        Task.detached { _ = try? await AsyncProcess.run(ssh, arguments, unsetting: unsetting, timeout: .seconds(10)) }
    }

    /// Sleeps even when the task is cancelled (the loop goes on until the client has ended).
    private static func sleep(_ duration: Duration) async {
        if Task.isCancelled {
            await Task.detached { try? await Task.sleep(for: duration) }.value
        } else {
            try? await Task.sleep(for: duration)
        }
    }
}
