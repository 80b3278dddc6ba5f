import Foundation
import Playbook
import System

/// `shell` and `command` steps, and every command golive itself runs on a host.
extension StepActions {
    /// Runs a command on a host's open connection. While this run holds the host's lock, the
    /// command runs behind its guard (``HostLock/guarded(_:tag:token:)``): its process group is
    /// recorded on the host under `tag` first, and it refuses to run if another controller holds
    /// the lock now — which fences this controller.
    ///
    /// - Throws: ``TransportError`` when the host is not connected or the connection drops (the
    ///   rollback reconnects; a deploy step fails the host).
    func remote(_ command: RenderedText, timeout: Duration, tag: String, in run: isolated any RunControl) async throws -> StepAttempt {
        let connection = try await self.connection(in: run)
        if command.text.contains(Value.redactionMark) {
            // A value recorded redacted on the timeline never stands in for the real one.
            return StepAttempt(
                ok: false, status: StepStatus.failed.rawValue, command: command.display,
                message: "refused: the command holds a redacted value (\(Value.redactionMark)) in place of a real one")
        }
        run.learnSecrets(command.secrets)
        var text = command.text
        if let token = run.token, run.state[host].lockHeld { text = HostLock.guarded(text, tag: tag, token: token, runID: run.options.runID) }
        let outcome = try await connection.run(text, timeout: timeout, output: nil)
        if outcome.exitCode == HostLock.fencedStatus, outcome.stderrText.contains(HostLock.fencedMarker) {
            run.abort(.fenced, detail: "\(host) is locked by another controller now")
            return StepAttempt(
                ok: false, status: StepStatus.cancelled.rawValue, exitCode: outcome.exitCode, command: command.display,
                message: "not run: another controller holds the lock on \(host) now")
        }
        let status = outcome.timedOut ? "timed-out" : outcome.succeeded ? "ok" : "failed"
        var message: String?
        if outcome.timedOut { message = "timed out after \(DurationSyntax.format(timeout)); the command was stopped" }
        if let signal = outcome.signal { message = "killed by SIG\(signal)" }
        return StepAttempt(
            ok: outcome.succeeded, status: status, exitCode: outcome.exitCode, command: command.display,
            stdout: outcome.stdoutText, stderr: outcome.stderrText, omitted: outcome.omitted, message: message)
    }
}
