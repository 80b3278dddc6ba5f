import Foundation
import Playbook
import Synchronization
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
    func remote(
        _ command: RenderedText, timeout: Duration, tag: String, stdin: Data? = nil, in run: isolated any RunControl
    ) async throws -> StepAttempt {
        let connection = try await self.connection(in: run)
        if command.text.contains(Value.redactionMark) {
            // A value recorded redacted on the timeline never stands in for the real one.
            return StepAttempt(
                ok: false, status: StepStatus.failed.rawValue, command: command.display,
                message: "refused: the command holds a redacted value (\(Value.redactionMark)) in place of a real one")
        }
        run.learnSecrets(command.secrets)
        let guarded = run.token != nil && run.state[host].lockHeld
        func guarding(_ text: String) -> String {
            guard guarded, let token = run.token else { return text }
            return HostLock.guarded(text, tag: tag, token: token, runID: run.options.runID)
        }
        var outcome: CommandOutcome
        if let become, let refused = run.escalationRefusals[become.refusalKey(host: host)] {
            // Asked once this run and refused: not asked again (each try is a failed attempt for sudo).
            return StepAttempt(
                ok: false, status: StepStatus.failed.rawValue, command: command.display,
                message: "not run: \(refused) (earlier in this run; not asked again)", escalationFailed: true)
        }
        if let become {
            // The guard runs as the login user (its record, its token check), then starts the
            // escalated shell, which gets the command on stdin. The login user cannot signal what
            // runs as another user: at the timeout, or on a cancel, the stop goes through the same
            // escalation, on a connection of its own (this one is busy with the command).
            let stopped = Mutex(false)
            let stopFailure = Mutex<String?>(nil)
            let place = host
            let stop: @Sendable () async -> Void = {
                guard guarded, stopped.withLock({ done in defer { done = true }; return !done }) else { return }
                let failure = await Self.stopEscalated(tag: tag, as: become, on: place, in: run)
                stopFailure.withLock { $0 = failure }
            }
            // The stop a cancel starts: awaited before the step ends, so that the run neither closes
            // its connections under it nor says it failed once the step is long over.
            let cancelStop = Mutex<Task<Void, Never>?>(nil)
            outcome = try await withTaskCancellationHandler {
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled { await stop() }
                }
                do {
                    let result = try await connection.run(
                        guarding(become.launcher), escalation: become, script: command.text, stdin: stdin,
                        // Unguarded (no lock, no record: a `check`), the channel's own timeout stops what the login user can.
                        timeout: guarded ? timeout + .seconds(10) : timeout, output: nil)
                    // A stop under way is finished (and on the timeline) before the step's end is.
                    if stopped.withLock({ $0 }) { await timer.value } else { timer.cancel() }
                    if let pending = cancelStop.withLock({ $0 }) { await pending.value }
                    return result
                } catch {
                    timer.cancel()
                    if let pending = cancelStop.withLock({ $0 }) { await pending.value }
                    throw error
                }
            } onCancel: {
                cancelStop.withLock { $0 = Task.detached { await stop() } }
            }
            if guarded, stopped.withLock({ $0 }), outcome.escalationFailure == nil { outcome.timedOut = true }
            if let failure = stopFailure.withLock({ $0 }) {
                // Never "stopped" when it may not have been.
                return StepAttempt(
                    ok: false, status: StepStatus.timedOut.rawValue, exitCode: outcome.exitCode, command: command.display,
                    stdout: outcome.stdoutText, stderr: outcome.stderrText,
                    message: "timed out after \(DurationSyntax.format(timeout)); stopping it as \(become.user) failed (\(failure)): it may still run on \(host)")
            }
        } else {
            outcome = try await connection.run(guarding(command.text), timeout: timeout, output: nil)
        }
        if outcome.exitCode == HostLock.fencedStatus, outcome.stderrText.contains(HostLock.fencedMarker) {
            run.abort(.fenced, detail: "\(host) is locked by another controller now")
            return StepAttempt(
                ok: false, status: StepStatus.cancelled.rawValue, exitCode: outcome.exitCode, command: command.display,
                message: "not run: another controller holds the lock on \(host) now")
        }
        if let become, let failure = outcome.escalationFailure {
            run.escalationRefusals[become.refusalKey(host: host)] = become.message(failure, host: host, login: connection.summary.user)
            return StepAttempt(
                ok: false, status: StepStatus.failed.rawValue, exitCode: outcome.exitCode, command: command.display,
                stderr: outcome.stderrText, message: become.message(failure, host: host, login: connection.summary.user),
                escalationFailed: true)
        }
        let status = outcome.timedOut ? "timed-out" : outcome.succeeded ? "ok" : "failed"
        var message: String?
        if outcome.timedOut { message = "timed out after \(DurationSyntax.format(timeout)); the command was stopped" }
        if let signal = outcome.signal { message = signal.isEmpty ? "killed by a signal (OpenSSH does not say which)" : "killed by SIG\(signal)" }
        return StepAttempt(
            ok: outcome.succeeded, status: status, exitCode: outcome.exitCode, command: command.display,
            stdout: outcome.stdoutText, stderr: outcome.stderrText, omitted: outcome.omitted, message: message)
    }

    /// Stops what an escalated command left running (after a timeout or a cancel), through the
    /// same escalation, from a connection of its own to the host (``HostLocks/stop(_:as:on:host:of:timeout:in:)``).
    /// Returns why it could not, on the timeline too (the command may then run on). It is called from
    /// a task of its own, so a Ctrl-C that cancelled the step's task does not cancel the stop.
    static func stopEscalated(tag: String, as become: Escalation, on host: String, in run: isolated any RunControl) async -> String? {
        var failure: String?
        do {
            let connection = try await run.delegatedConnection(to: host, for: stopConnection)
            failure = await HostLocks.stop([tag], as: become, on: connection, host: host, of: "the command", timeout: .seconds(30), in: run)
        } catch {
            failure = "\(error)"
        }
        if let failure {
            await run.emit(
                run.event(
                    .attentionRequired, host: host, status: "not-stopped",
                    message: "\(host): the command \(tag) (as \(become.description)) could not be stopped (\(failure)); it may still run there"))
        }
        return failure
    }

    /// The name the stop's own connection to a host is kept under (never an inventory host's).
    static let stopConnection = "(stop)"
}
