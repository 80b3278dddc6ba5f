import Foundation
import Playbook
import System

/// `http` checks: from the controller, or from the host with curl (`via: host`).
extension StepActions {
    func httpCheck(_ http: HTTPCheck, context: TemplateContext, tag: String, in run: isolated any RunControl) async throws -> StepAttempt {
        let url = try http.url.render(context, quoting: .plain)
        let expected = try http.contains.map { try $0.render(context, quoting: .plain).text }
        let display = "GET \(url.display)"
        var status = 0
        var body = ""
        if http.viaHost {
            // The URL goes to curl in its config on stdin (a here-document of the script), never in
            // argv: a URL can hold a secret, and argv is visible to every user of the host.
            let escaped = url.text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            let command =
                "curl -sS -m \(max(1, Int(http.timeout.seconds.rounded(.up)))) -o - -w '\\n%{http_code}' -K - <<'GOLIVE_CURL_CONFIG'\n"
                + "url = \"\(escaped.replacingOccurrences(of: "\n", with: ""))\"\nGOLIVE_CURL_CONFIG"
            let result = try await remote(RenderedText(text: command, display: display + " (from the host)", secrets: url.secrets), timeout: http.timeout + .seconds(5), tag: tag, in: run)
            var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            status = Int(lines.popLast() ?? "") ?? 0
            body = lines.joined(separator: "\n")
            if status == 0 {
                let why = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                return StepAttempt(
                    ok: false, status: "failed", command: display,
                    message: "request from the host failed: " + (why.isEmpty ? "curl exit \(result.exitCode.map(String.init) ?? "?")" : why))
            }
        } else {
            do {
                let response = try await ControllerChecks.get(url.text, timeout: http.timeout)
                status = response.status
                body = response.body
            } catch {
                return StepAttempt(ok: false, status: "failed", command: display, message: run.redact("\(error)"))
            }
        }
        var ok = status == http.status
        var message: String?
        if !ok { message = "HTTP \(status), expected \(http.status)" }
        if ok, let expected, !body.contains(expected) {
            ok = false
            message = "HTTP \(status) but the body does not contain '\(expected)'"
        }
        return StepAttempt(ok: ok, status: ok ? "ok" : "failed", exitCode: nil, command: display, stdout: String(body.prefix(4096)), message: message, httpStatus: status)
    }
}
