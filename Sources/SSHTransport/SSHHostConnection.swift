import Engine
import Foundation
import SSH
import System

/// A ``HostConnection`` over an ``SSHConnection``.
final class SSHHostConnection: HostConnection {
    let connection: SSHConnection
    let summary: ConnectionSummary

    init(connection: SSHConnection, transportReason: String? = nil) {
        self.connection = connection
        let info = connection.info
        summary = ConnectionSummary(
            endpoint: info.connectedAddress.hasPrefix("via") ? "\(connection.target.endpoint) \(info.connectedAddress)" : connection.target.endpoint,
            hostKey: "\(info.hostKey.displayType) \(info.hostKey.fingerprint)",
            authMethod: info.authMethod, setupTime: info.setupTime, hostKeyAdded: info.hostKeyAdded, user: connection.target.user,
            transportReason: transportReason)
    }

    func run(_ command: String, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?) async throws -> CommandOutcome {
        try await run(command, dialogue: nil, timeout: timeout, output: output)
    }

    func run(
        _ command: String, escalation: Escalation, script: String, stdin: Data?, timeout: Duration?,
        output: (@Sendable (Bool, Data) -> Void)?
    ) async throws -> CommandOutcome {
        let frame = ShellBootstrap.input(command: escalation.script(script), stdin: stdin)
        return try await run(command, dialogue: EscalationDialogue(escalation: escalation, script: frame), timeout: timeout, output: output)
    }

    private func run(
        _ command: String, dialogue: EscalationDialogue?, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?
    ) async throws -> CommandOutcome {
        var forward: OutputHandler?
        if let output {
            forward = { stream, data in output(stream == .stdout, data) }
        }
        do {
            let result = try await connection.run(command, dialogue: dialogue, timeout: timeout, captureLimit: 128 * 1024, output: forward)
            var outcome = CommandOutcome(
                exitCode: nil, stdout: result.stdout, stderr: result.stderr,
                omitted: result.stdoutOmitted + result.stderrOmitted, duration: result.duration)
            outcome.escalationFailure = result.escalationFailure
            switch result.termination {
            case .exited(let code): outcome.exitCode = Int(code)
            case .signaled(let signal): outcome.signal = signal
            case .timedOut: outcome.timedOut = true
            }
            return outcome
        } catch let error as SSHError {
            throw TransportError(kind: SSHTransport.kind(error), host: connection.target.name, message: error.description)
        }
    }

    func upload(_ data: Data, to path: String, mode: Int) async throws {
        do {
            try await connection.upload(.data(data), to: path, mode: mode)
        } catch let error as SSHError {
            throw TransportError(kind: SSHTransport.kind(error), host: connection.target.name, message: error.description)
        }
    }

    func stage(_ data: Data, beside path: String) async throws -> String {
        do {
            return try await connection.stage(.data(data), beside: path)
        } catch let error as SSHError {
            throw TransportError(kind: SSHTransport.kind(error), host: connection.target.name, message: error.description)
        }
    }

    func close() async { await connection.close() }
}
