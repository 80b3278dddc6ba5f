import Foundation
import Playbook
import System

/// `local` steps: on the controller.
extension StepActions {
    /// Runs a command on the controller, from the playbook's directory. The command reaches the
    /// shell on its stdin through the same bootstrap as remote commands, never in argv (which every
    /// local user sees in `ps`); the process group is stopped at the timeout. While the run keeps
    /// its record on the controller (``ControllerRecords``), the command runs behind the host
    /// lock's guard there, under `tag`: its process group is recorded first, and a controller that
    /// lost the run is fenced.
    static func local(_ command: RenderedText, timeout: Duration, tag: String, in run: isolated any RunControl) async -> StepAttempt {
        run.learnSecrets(command.secrets)
        var script = "cd \(ShellQuote.quote(run.options.playbookDirectory)) && \(command.text)\n"
        if let token = run.token, run.controllerRecordsHeld {
            script = ControllerRecords.rooted(HostLock.guarded(script, tag: tag, token: token, runID: run.options.runID), runID: run.options.runID) + "\n"
        }
        do {
            // As `timeout(1)` would: whole seconds (at least one), exit 124 when it stops the command.
            // An abort (Ctrl-C, a failure elsewhere) stops it too, as it stops remote commands.
            let seconds = max(1, Int(timeout.seconds.rounded(.up)))
            let result = try await AsyncProcess.run(
                "/bin/sh", ["-c", ShellBootstrap.command], stdin: ShellBootstrap.input(command: script, stdin: nil),
                timeout: .seconds(seconds), stopOnCancel: true, outputLimit: 1 << 30)
            var output = result.text
            // The bootstrap's first line (its process group) is for remote hosts' guards, not the output.
            if output.hasPrefix("golive-pgid:"), let end = output.firstIndex(of: "\n") { output.removeSubrange(...end) }
            let status: Int32 = result.timedOut ? 124 : result.status
            if status == HostLock.fencedStatus, output.contains(HostLock.fencedMarker) {
                run.abort(.fenced, detail: "another controller took the run over")
                return StepAttempt(
                    ok: false, status: StepStatus.cancelled.rawValue, exitCode: Int(status), command: "(local) " + command.display,
                    message: "not run: another controller holds the run now")
            }
            return StepAttempt(
                ok: status == 0, status: status == 124 ? "timed-out" : status == 0 ? "ok" : "failed", exitCode: Int(status),
                command: "(local) " + command.display, stdout: output)
        } catch {
            return StepAttempt(ok: false, status: "failed", command: command.display, message: "\(error)")
        }
    }
}
