import Foundation
import Playbook
import System

/// `upload` and `template` steps: staged beside the destination, then moved into place behind the guard.
extension StepActions {
    func upload(
        _ transfer: Transfer, render: Bool, context: TemplateContext, tag: String, timeout: Duration, in run: isolated any RunControl
    ) async throws
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
        let digest = Digest.sha256Hex(data)
        let target = ShellQuote.quote(destination)
        let mode = String(transfer.mode, radix: 8)
        let ownership = [transfer.owner, transfer.group.map { ":" + $0 }].compactMap { $0 }.joined()
        // The mode written, or (none written) the mode of the file it replaces, else 0644.
        func chmod(_ file: String) -> String {
            transfer.modeGiven
                ? "chmod \(mode) \(file)"
                : "{ if [ -e \(target) ]; then chmod --reference=\(target) -- \(file); else chmod \(mode) \(file); fi; }"
        }
        let moved: StepAttempt
        if become != nil {
            // Written by the escalated user from stdin into a private temporary file beside the
            // destination (umask 077: never readable by others on the way), given its owner and
            // mode, checked whole, then renamed into place.
            let directory = ShellQuote.quote(Self.directory(of: destination))
            let script = """
                umask 077
                if [ -d \(target) ] && [ ! -L \(target) ]; then printf 'golive: %s is a directory (end dest with / to upload into it)\\n' \(target) >&2; exit 1; fi
                t=$(mktemp \(directory)/.golive-upload.XXXXXX) || { printf 'golive: cannot write into %s as %s\\n' \(directory) "$(id -un)" >&2; exit 1; }
                trap 'rm -f -- "$t"' EXIT; trap 'rm -f -- "$t"; exit 129' HUP; trap 'rm -f -- "$t"; exit 130' INT; trap 'rm -f -- "$t"; exit 143' TERM
                trap 'rm -f -- "$t"; exit 141' PIPE
                cat > "$t" || { rm -f -- "$t"; exit 1; }
                [ "$(wc -c < "$t")" -eq \(data.count) ] || { rm -f -- "$t"; echo "golive: the upload arrived incomplete" >&2; exit 1; }
                \(ownership.isEmpty
                    ? "[ -e \(target) ] && chown --reference=\(target) -- \"$t\" 2>/dev/null"
                    : "chown -- \(ShellQuote.quote(ownership)) \"$t\" || exit 1")
                \(chmod("\"$t\""))
                mv -fT -- "$t" \(target) || exit 1
                trap - EXIT HUP INT TERM PIPE
                """
            // The bytes travel inside the command: the step's own bound applies.
            moved = try await remote(RenderedText(text: script, display: display, secrets: []), timeout: timeout, tag: tag, stdin: data, in: run)
        } else {
            let connection = try await self.connection(in: run)
            let staged = try await connection.stage(data, beside: destination)
            let temporary = ShellQuote.quote(staged)
            let chown = ownership.isEmpty ? "" : "chown -- \(ShellQuote.quote(ownership)) \(temporary) && "
            let move = "{ \(chown)\(chmod(temporary)) && mv -fT \(temporary) \(target); } || { rm -f \(temporary); exit 1; }"
            moved = try await remote(RenderedText(text: move, display: display, secrets: []), timeout: .seconds(60), tag: tag, in: run)
        }
        guard moved.ok else {
            var message = moved.message ?? "moving the upload into place at \(destination): \(moved.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
            if become == nil, !ownership.isEmpty, moved.stderr.contains("chown") {
                let user = run.connection(to: host)?.summary.user ?? "the login user"
                message = "cannot give \(destination) to \(ownership) as \(user): \(moved.stderr.trimmingCharacters(in: .whitespacesAndNewlines)); set `become: true` for this step"
            }
            return StepAttempt(
                ok: false, status: moved.status, exitCode: moved.exitCode, command: display, stderr: moved.stderr, message: message,
                escalationFailed: moved.escalationFailed)
        }
        return StepAttempt(ok: true, status: "ok", command: display, transfer: (String(data.count), digest))
    }

    /// The directory a remote path is in.
    static func directory(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "/" : parent
    }
}
