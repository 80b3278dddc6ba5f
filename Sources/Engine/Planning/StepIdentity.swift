import Foundation
import Playbook
import System

/// A step's identity beyond its index: a digest of its definition, recorded on every step event,
/// so that a recovery can tell whether today's playbook still holds the same step at that index.
public enum StepIdentity {
    /// 12 hex digits of the SHA-256 of the step's section, name, kind, templates and options.
    public static func key(_ step: Step) -> String {
        var parts = [step.section.rawValue, step.name, ResolvedPlan.options(step)]
        parts += Validator.templates(of: step.action, step.id).map { "\($0.1)=\($0.0.source)" }
        switch step.action {
        case .upload(let transfer), .template(let transfer): parts.append("mode=\(transfer.mode)")
        case .http(let http): parts.append("status=\(http.status) via=\(http.viaHost)")
        case .tcp(let tcp): parts.append("port=\(tcp.port)")
        case .wait(let wait):
            if case .port(let port, _) = wait.condition { parts.append("port=\(port)") }
        default: break
        }
        if let undo = step.undo { parts.append("rollback=\(undo.source)") }
        return String(Digest.sha256Hex(Data(parts.joined(separator: "\u{1F}").utf8)).prefix(12))
    }
}
