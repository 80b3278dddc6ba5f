import System

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
