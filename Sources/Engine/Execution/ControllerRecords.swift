import Foundation
import Playbook
import System

/// The controller's own record of the commands it runs for a run's hosts (`local` steps, steps
/// `delegate_to: controller`, and their undos): the host lock's directory and guard
/// (``HostLock``), kept on this machine under a root of the run's own
/// (`/var/tmp/golive-controller/RUN`). Each command's process group is recorded before it runs
/// and its token checked, exactly as on a server; a recovery on this machine takes the record over
/// (a new token: the lost controller's later commands are fenced) and stops the commands the lost
/// controller left running, each on the timeline, before anything else happens.
enum ControllerRecords {
    /// Where the run's records live on the controller (`GOLIVE_CONTROLLER_ROOT` overrides the parent).
    static func root(runID: String) -> String {
        let parent = ProcessInfo.processInfo.environment["GOLIVE_CONTROLLER_ROOT"] ?? "/var/tmp/golive-controller"
        return parent + "/" + HostLock.fileName(runID)
    }

    /// `script` for the controller's shell, with the run's lock root set.
    static func rooted(_ script: String, runID: String) -> String {
        "GOLIVE_LOCK_ROOT=\(ShellQuote.quote(root(runID: runID))); export GOLIVE_LOCK_ROOT\n" + script
    }

    /// Takes (or, in a recovery, takes over) the run's record on the controller and stops the
    /// commands of `stopping` still running. Returns the failure, or nil.
    static func take(stopping: [String], in run: isolated any RunControl) async -> String? {
        guard let token = run.token else { return nil }
        let script = rooted(
            HostLock.takeScript(runID: run.options.runID, info: HostLocks.info(in: run), token: token, stopping: stopping), runID: run.options.runID)
        let lines: [String]
        do {
            let result = try await AsyncProcess.run(
                "/bin/sh", ["-c", ShellBootstrap.command], stdin: ShellBootstrap.input(command: script, stdin: nil), timeout: .seconds(60))
            lines = result.text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("golive-pgid:") }
        } catch {
            return "cannot keep the controller's record of its commands: \(error)"
        }
        if lines.first == "FENCED" {
            run.abort(.fenced, detail: "a later controller of this run keeps its record on the controller")
            return "this controller lost the run: " + lines.dropFirst().joined(separator: "; ")
        }
        guard lines.first == "TAKEN" || lines.first == "OURS" else {
            return "cannot keep the controller's record of its commands under \(root(runID: run.options.runID)): " + lines.joined(separator: "; ")
        }
        for stop in HostLock.stopped(lines.dropFirst()) {
            await run.emit(
                run.event(
                    .processStopped, status: stop.status,
                    message: "the lost controller's command \(stop.tag) (process group \(stop.group)) on the controller: \(stop.how)"))
        }
        return nil
    }

    /// Removes the run's record on the controller (its commands have all ended by now).
    static func release(runID: String, token: String) async {
        let script = rooted(HostLock.releaseScript(runID: runID, token: token), runID: runID) + "\nrmdir -- \"$GOLIVE_LOCK_ROOT\" 2>/dev/null; true\n"
        _ = try? await AsyncProcess.run(
            "/bin/sh", ["-c", ShellBootstrap.command], stdin: ShellBootstrap.input(command: script, stdin: nil), timeout: .seconds(30))
    }
}
