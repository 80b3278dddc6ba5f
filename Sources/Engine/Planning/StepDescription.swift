import Foundation
import Playbook
import System

/// How a step will look when it runs on a host: the resolved command or request, redacted.
public enum StepDescription {
    /// Where a delegated step runs, as its recorded command starts: `(on lb) `, `(local) `, or nothing.
    public static func `where`(_ step: Step) -> String {
        switch step.delegate {
        case nil: ""
        case .controller: "(local) "
        case .host(let name): "(on \(name)) "
        }
    }

    /// Where a step runs for `host` and as whom: `(on lb) (as root via sudo) `, or nothing.
    public static func `where`(_ step: Step, in playbook: ValidatedPlaybook, for host: String) -> String {
        `where`(step) + privilege(playbook.become(for: step, on: host)?.summary)
    }

    /// Whom a step becomes (`root via sudo`), as its recorded command starts: `(as root via sudo) `, or nothing.
    public static func privilege(_ become: String?) -> String {
        become.map { "(as \($0)) " } ?? ""
    }

    /// The resolved action of a step for one host (secrets as `••••`); the template problem if it cannot render.
    public static func describe(_ action: Step.Action, _ context: TemplateContext) -> String {
        do {
            switch action {
            case .shell(let template): return try template.render(context, quoting: .shell).display
            case .local(let template): return "(on the controller) " + (try template.render(context, quoting: .shell).display)
            case .command(let argv):
                return try argv.map { ShellQuote.quote(try $0.render(context, quoting: .plain).display) }.joined(separator: " ")
            case .upload(let transfer), .template(let transfer):
                let source = try transfer.source.render(context, quoting: .plain).display
                let destination = try transfer.destination.render(context, quoting: .plain).display
                let verb = if case .template = action { "render" } else { "upload" }
                let owner = [transfer.owner, transfer.group.map { ":" + $0 }].compactMap { $0 }.joined()
                return "\(verb) \(source) → \(destination) (mode \(String(transfer.mode, radix: 8))\(owner.isEmpty ? "" : ", owner \(owner)"))"
            case .archive(let archive):
                let path = try archive.path.render(context, quoting: .plain).display
                let destination = try archive.destination.render(context, quoting: .plain).display
                return "archive \(path) → \(destination) (restored on rollback)"
            case .http(let http):
                var text = "GET \(try http.url.render(context, quoting: .plain).display) expect \(http.status)"
                if let contains = http.contains { text += " containing '\(try contains.render(context, quoting: .plain).display)'" }
                return text + (http.viaHost ? " (from the host)" : "")
            case .tcp(let tcp):
                return "tcp connect \(try tcp.host?.render(context, quoting: .plain).display ?? "host"):\(tcp.port)"
            case .wait(let wait):
                switch wait.condition {
                case .port(let port, let host):
                    return "wait up to \(DurationSyntax.format(wait.timeout)) for \(try host?.render(context, quoting: .plain).display ?? "host"):\(port)"
                case .file(let file):
                    return "wait up to \(DurationSyntax.format(wait.timeout)) for file \(try file.render(context, quoting: .plain).display)"
                case .command(let command):
                    return "wait up to \(DurationSyntax.format(wait.timeout)) until: \(try command.render(context, quoting: .shell).display)"
                }
            case .gate(let gate):
                return "gate: \(try gate.prompt.render(context, quoting: .plain).display)" + (gate.owner.map { " (answered by \($0))" } ?? "")
            }
        } catch let error as TemplateError {
            return "<cannot render: \(error.message)>"
        } catch {
            return "<cannot render: \(error)>"
        }
    }

    /// The resolved probe.
    public static func describe(probe check: Probe.Check, _ context: TemplateContext) -> String {
        switch check {
        case .http(let http): describe(Step.Action.http(http), context)
        case .tcp(let tcp): describe(Step.Action.tcp(tcp), context)
        case .shell(let command): describe(Step.Action.shell(command), context)
        case .log(let log):
            "log \((try? log.path.render(context, quoting: .plain).display) ?? log.path.source): lines matching /\(log.match)/, at most \(log.max) per \(DurationSyntax.format(log.per))"
        case .metric(let metric):
            "metric " + metric.conditions.map { condition in
                switch condition.source {
                case .diskFree(let path): "disk_free \((try? path.render(context, quoting: .plain).display) ?? path.source) \(condition.threshold)"
                case .command(let command): "value of `\((try? command.render(context, quoting: .shell).display) ?? command.source)` \(condition.threshold)"
                default: "\(condition.name) \(condition.threshold)"
                }
            }.joined(separator: ", ")
        }
    }
}
