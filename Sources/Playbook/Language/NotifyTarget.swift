import Foundation

/// A receiver of a run's notifications (`notify:` in the inventory or the playbook).
public struct NotifyTarget: Sendable, Hashable {
    /// How it is told.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A POST of the versioned JSON body, signed with HMAC-SHA256 when it has a `secret`.
        case webhook
        /// A Slack incoming webhook: a compact message.
        case slack
        /// A local command given the JSON body on its standard input.
        case command
    }

    /// What a run tells.
    public enum Event: String, Sendable, Hashable, CaseIterable {
        case runStarted = "run_started", gateWaiting = "gate_waiting", gateAnswered = "gate_answered", hostFailed = "host_failed"
        case rollbackStarted = "rollback_started", rollbackFinished = "rollback_finished", attentionRequired = "attention_required"
        case runFinished = "run_finished", late, rollbackPointNear = "rollback_point_near"
        /// Sent by `golive notify test` only.
        case test
    }

    /// A value written in the file, or the name of a secret of the inventory (`{ secret: NAME }`).
    public enum Text: Sendable, Hashable {
        case literal(String)
        case secret(String)
    }

    public var name: String
    public var kind: Kind
    /// The URL (webhook, slack) or the command line (command).
    public var address: Text
    /// The HMAC-SHA256 key of a webhook's `X-Golive-Signature` (a secret's name).
    public var signingSecret: String?
    /// Extra HTTP headers of a webhook.
    public var headers: [String: Text] = [:]
    /// The events it wants (default: all but `test`).
    public var events: Set<Event>
    /// Bound on one attempt.
    public var timeout: Duration = .seconds(5)
    /// Attempts after the first failure (with backoff: 1 s, 2 s, 4 s...).
    public var retries: Int = 3
    /// How long before the window's rollback point `rollback_point_near` is sent.
    public var beforeRollbackPoint: Duration = .seconds(600)
    /// How far past the rehearsed prediction the run is `late` (default: a tenth of it, at least 30 s).
    public var lateMargin: Duration?
    /// Where it is declared.
    public var location: SourceLocation

    /// The events a target gets when it names none: all but the test.
    public static let defaultEvents = Set(Event.allCases.filter { $0 != .test })

    /// The address as plans and records may show it: a command as written, a URL reduced to its
    /// scheme and host (a webhook URL often holds its token), a secret by its name.
    public var shownAddress: String {
        switch address {
        case .secret(let name): return "(secret \(name))"
        case .literal(let text) where kind == .command: return text
        case .literal(let text):
            guard let url = URLComponents(string: text), let scheme = url.scheme, let host = url.host else { return "(a URL)" }
            return "\(scheme)://\(host)/…"
        }
    }
}
