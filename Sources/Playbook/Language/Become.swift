import System

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
