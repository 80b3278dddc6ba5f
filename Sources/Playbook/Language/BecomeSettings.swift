import System
import Yams

/// `become`, `become_user`, `become_method` and `become_password` at one level (inventory defaults,
/// a group, a host, the playbook, a play, a step); what a level leaves unset comes from the level
/// under it, the nearer one winning as for variables: step > play > playbook > host > group > defaults.
public struct BecomeSettings: Sendable, Hashable {
    /// `become: true|false`.
    public var enabled: Bool?
    /// `become_user` (root when unset).
    public var user: String?
    /// `become_method` (sudo when unset).
    public var method: Escalation.Method?
    /// `become_password: { secret: NAME }` (inventory only: the password is the login's).
    public var passwordSecret: String?
    /// Where `become` or `become_method` was set, for the errors about them.
    public var location: SourceLocation?

    /// Nothing set.
    public init() {}

    /// The keys a level may carry.
    public static let keys = ["become", "become_user", "become_method"]

    /// True when nothing is set.
    public var isEmpty: Bool { enabled == nil && user == nil && method == nil && passwordSecret == nil }

    /// `self` with every unset field taken from `other` (the level under it).
    public func filled(from other: BecomeSettings) -> BecomeSettings {
        var merged = self
        merged.enabled = enabled ?? other.enabled
        merged.user = user ?? other.user
        merged.method = method ?? other.method
        merged.passwordSecret = passwordSecret ?? other.passwordSecret
        merged.location = location ?? other.location
        return merged
    }

    /// The escalation these settings ask for, or nil when `become` is not on.
    public var become: Become? {
        guard enabled == true else { return nil }
        return Become(user: user ?? "root", method: method ?? .sudo, passwordSecret: passwordSecret)
    }

    /// True when `name` can be a user to become (a plain user name: letters, digits, `_`, `-`, `.`).
    public static func validUser(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }
}

/// The privilege a step runs with on a host: whom it becomes, how, and the secret holding the login
/// user's password, if any.
public struct Become: Sendable, Hashable {
    /// The user the step runs as.
    public var user: String
    /// How.
    public var method: Escalation.Method
    /// The secret with the login user's password for sudo.
    public var passwordSecret: String?

    /// Creates one.
    public init(user: String, method: Escalation.Method, passwordSecret: String? = nil) {
        self.user = user
        self.method = method
        self.passwordSecret = passwordSecret
    }

    /// `root via sudo`.
    public var summary: String { "\(user) via \(method.rawValue)" }
}

extension YAMLReader {
    /// Reads one `become*` key into `settings`; false when `key` is not one of them.
    @discardableResult
    func become(_ key: String, _ node: Node, _ path: String, into settings: inout BecomeSettings) -> Bool {
        switch key {
        case "become":
            settings.enabled = bool(node, path)
            settings.location = settings.location ?? location(node)
        case "become_user":
            guard let name = nonEmptyString(node, path) else { return true }
            if BecomeSettings.validUser(name) {
                settings.user = name
            } else {
                error(.invalidValue("'\(name)' is not a user name"), node, path, hint: "a plain user name (letters, digits, _ - .), not a template")
            }
        case "become_method":
            guard let name = nonEmptyString(node, path) else { return true }
            if let method = Escalation.Method(rawValue: name) {
                settings.method = method
                settings.location = location(node)
            } else {
                let hint = Suggestions.closest(to: name, in: Escalation.Method.allCases.map(\.rawValue)).map { "did you mean '\($0)'?" }
                error(.invalidValue("'\(name)' is not a become method (sudo, su or doas)"), node, path, hint: hint)
            }
        default: return false
        }
        return true
    }
}
