import Foundation
import Playbook
import System

/// `local` steps: on the controller.
extension StepActions {
    /// Runs a command on the controller, from the playbook's directory. The command reaches the
    /// shell on its stdin through the same bootstrap as remote commands, never in argv (which every
    /// local user sees in `ps`); the process group is stopped at the timeout.
    static func local(_ command: RenderedText, timeout: Duration, in run: isolated any RunControl) async -> StepAttempt {
        run.learnSecrets(command.secrets)
        let script = "cd \(ShellQuote.quote(run.options.playbookDirectory)) && \(command.text)\n"
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
            return StepAttempt(
                ok: status == 0, status: status == 124 ? "timed-out" : status == 0 ? "ok" : "failed", exitCode: Int(status),
                command: "(local) " + command.display, stdout: output)
        } catch {
            return StepAttempt(ok: false, status: "failed", command: command.display, message: "\(error)")
        }
    }
}
