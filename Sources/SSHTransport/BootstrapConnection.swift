import Engine
import Foundation
import SSH
import System

/// A ``HostConnection`` whose every command is one fixed ``ShellBootstrap`` conversation
/// (OpenSSH's mux sessions, the controller's local shells): it only says how to hold one
/// (``converse(_:timeout:output:)``); commands, escalated commands and file writes are built on it
/// here, the same for each.
protocol BootstrapConnection: HostConnection {
    /// The inventory host, for messages.
    var hostName: String { get }
    /// Runs one command to its end: the bootstrap started, the exchange's input sent, its output
    /// read, the deadline and cancellation turned into a stop of its process group.
    func converse(_ start: BootstrapExchange, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?) async throws -> CommandOutcome
}

extension BootstrapConnection {
    /// How much of each stream a command's outcome keeps.
    static var captureLimit: Int { 128 * 1024 }

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
                kind: .transfer, host: hostName,
                message: "\(hostName): writing \(path): \(said.isEmpty ? "exit \(outcome.exitCode ?? -1)" : said)")
        }
    }
}
