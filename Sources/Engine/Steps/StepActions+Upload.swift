import Foundation
import Playbook
import System

/// `upload` and `template` steps: staged beside the destination, then moved into place behind the guard.
extension StepActions {
    func upload(_ transfer: Transfer, render: Bool, context: TemplateContext, tag: String, in run: isolated any RunControl) async throws
        -> StepAttempt
    {
        let source = try transfer.source.render(context, quoting: .plain).text
        var destination = try transfer.destination.render(context, quoting: .plain).text
        let display = "\(render ? "render" : "upload") \(source) → \(try transfer.destination.render(context, quoting: .plain).display)"
        if !destination.hasPrefix("/") {
            return StepAttempt(ok: false, status: "failed", command: display, message: "refusing destination '\(destination)': it must be an absolute path")
        }
        if destination.split(separator: "/").contains("..") {
            return StepAttempt(ok: false, status: "failed", command: display, message: "refusing destination '\(destination)': it climbs out with '..'")
        }
        let path = source.hasPrefix("/") ? source : run.options.playbookDirectory + "/" + source
        guard var data = FileManager.default.contents(atPath: path) else {
            return StepAttempt(ok: false, status: "failed", command: display, message: "cannot read local file \(path)")
        }
        if destination.hasSuffix("/") { destination += URL(fileURLWithPath: source).lastPathComponent }
        if render {
            do {
                let template = try Template.parse(fileData: data, file: path)
                let rendered = try template.render(context, quoting: .plain)
                run.learnSecrets(rendered.secrets)
                data = Data(rendered.text.utf8)
            } catch let error as PlaybookError {
                return StepAttempt(ok: false, status: "failed", command: display, message: "\(error)")
            }
        }
        let connection = try await self.connection(in: run)
        let staged = try await connection.stage(data, beside: destination)
        let (temporary, target) = (ShellQuote.quote(staged), ShellQuote.quote(destination))
        let move = "chmod \(String(transfer.mode, radix: 8)) \(temporary) && mv -f \(temporary) \(target) || { rm -f \(temporary); exit 1; }"
        let moved = try await remote(RenderedText(text: move, display: display, secrets: []), timeout: .seconds(60), tag: tag, in: run)
        guard moved.ok else {
            return StepAttempt(
                ok: false, status: moved.status, exitCode: moved.exitCode, command: display, stderr: moved.stderr,
                message: moved.message ?? "moving the upload into place at \(destination): \(moved.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return StepAttempt(ok: true, status: "ok", command: display, transfer: (String(data.count), Digest.sha256Hex(data)))
    }
}
