import Foundation
import Playbook
import System

/// `wait` steps: a port, a file or a command polled on the host until true.
extension StepActions {
    func waitFor(_ wait: WaitCheck, context: TemplateContext, tag: String, in run: isolated any RunControl) async throws -> StepAttempt {
        let check: RenderedText
        switch wait.condition {
        case .port(let port, let target):
            let address = try target.map { try $0.render(context, quoting: .plain).text } ?? "127.0.0.1"
            // The address is an argument of the inner shell, never part of its script.
            let probe = "exec 3<>\"/dev/tcp/$1/$2\""
            check = RenderedText(
                // nc only where there is no bash: its -z means different things across variants.
                text: "if command -v bash >/dev/null 2>&1; then bash -c \(ShellQuote.quote(probe)) golive-wait \(ShellQuote.quote(address)) \(port) 2>/dev/null; else nc -z -- \(ShellQuote.quote(address)) \(port); fi",
                display: "port \(address):\(port) open", secrets: [])
        case .file(let file):
            let path = try file.render(context, quoting: .plain)
            check = RenderedText(
                text: "test -e \(ShellQuote.quote(path.text))", display: "file \(ShellQuote.quote(path.display)) exists", secrets: path.secrets)
        case .command(let command):
            check = try command.render(context, quoting: .shell)
        }
        let deadline = ContinuousClock.now.advanced(by: wait.timeout)
        var polls = 0
        var last: StepAttempt?
        while ContinuousClock.now < deadline && !Task.isCancelled && polls < 100_000 {
            polls += 1
            let result = try await remote(check, timeout: min(wait.timeout, .seconds(60)), tag: tag, in: run)
            if result.ok { return StepAttempt(ok: true, status: "ok", command: "wait: \(check.display)", message: "true after \(polls) poll(s)") }
            last = result
            try? await Task.sleep(for: wait.interval)
        }
        return StepAttempt(
            ok: false, status: "timed-out", exitCode: last?.exitCode, command: "wait: \(check.display)",
            stderr: last?.stderr ?? "", message: "still false after \(DurationSyntax.format(wait.timeout)) (\(polls) polls)")
    }
}
