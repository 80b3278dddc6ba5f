import Playbook

/// Which SSH implementation connects to a host, and why.
public struct TransportDecision: Sendable, Hashable {
    /// `libssh2` or `openssh` (never `auto`: that is decided).
    public var transport: TransportChoice
    /// Why, when the host gets OpenSSH under `auto` (`its key ~/.ssh/id_rsa is RSA`).
    public var reason: String?
    /// True when chosen under `auto`: libssh2 failing to negotiate may still hand the host to OpenSSH.
    public var automatic: Bool

    /// Creates a decision.
    public init(transport: TransportChoice, reason: String? = nil, automatic: Bool) {
        self.transport = transport
        self.reason = reason
        self.automatic = automatic
    }
}
