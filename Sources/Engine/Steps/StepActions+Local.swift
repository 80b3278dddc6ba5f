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
            let result = try await AsyncProcess.run(
                "/bin/sh", ["-c", ShellBootstrap.command], stdin: ShellBootstrap.input(command: script, stdin: nil), timeout: timeout,
                outputLimit: 128 * 1024)
            var output = result.text
            // The bootstrap's first line (its process group) is for remote hosts' guards, not the output.
            if output.hasPrefix("golive-pgid:"), let end = output.firstIndex(of: "\n") { output.removeSubrange(...end) }
            let status = result.timedOut ? StepStatus.timedOut.rawValue : result.status == 0 ? "ok" : "failed"
            return StepAttempt(
                ok: result.status == 0 && !result.timedOut, status: status, exitCode: result.timedOut ? nil : Int(result.status),
                command: "(local) " + command.display, stdout: output, omitted: result.omitted,
                message: result.timedOut ? "timed out after \(DurationSyntax.format(timeout)); the command was stopped" : nil)
        } catch {
            return StepAttempt(ok: false, status: "failed", command: command.display, message: "\(error)")
        }
    }
}
