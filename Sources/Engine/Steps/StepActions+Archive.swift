import Foundation
import Playbook
import System

/// `archive` backups: made on the host and recorded (`backupRecorded`) so a rollback can restore them.
extension StepActions {
    func backup(_ archive: Archive, step: Step, context: TemplateContext, tag: String, in run: isolated any RunControl) async throws
        -> StepAttempt
    {
        let path = try archive.path.render(context, quoting: .plain).text
        let destination = try archive.destination.render(context, quoting: .plain).text
        let script = ArchiveScripts.create(path: path, archive: destination)
        let result = try await remote(RenderedText(text: script, display: "archive \(path) → \(destination)", secrets: []), timeout: step.timeout ?? .seconds(3600), tag: tag, in: run)
        if result.ok {
            // Only a finished archive has something to restore: an interrupted one never touched `path`.
            let fields = result.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            let backup = BackupDetails(
                path: path, archive: destination, sha256: fields.first ?? "", bytes: fields.count > 1 ? fields[1] : "",
                existed: fields.count > 2 ? fields[2] : "")
            await run.emit(
                RunEvent(
                    runID: run.options.runID, kind: .backupRecorded, phase: .backup, host: host, step: step.id, stepName: step.name,
                    status: "ok", message: "\(path) → \(destination) (\(backup.bytes.isEmpty ? "?" : backup.bytes) bytes)",
                    details: RunEvent.details(backup)))
        }
        return result
    }
}
