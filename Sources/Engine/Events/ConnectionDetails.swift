import Playbook

/// What `hostConnected` records of a connection.
public struct ConnectionDetails: Codable, Sendable, Hashable {
    /// Connect, handshake and authentication, in milliseconds.
    public var setupMS: String
    /// `address:port` dialled.
    public var endpoint: String?
    /// Host key type and fingerprint.
    public var hostKey: String?
    /// The authentication method that worked.
    public var auth: String?
    /// The SSH implementation (`libssh2`, `openssh`).
    public var transport: String?
    /// Why the host got it, when not by default.
    public var transportReason: String?

    enum CodingKeys: String, CodingKey {
        case setupMS = "setup_ms", endpoint, hostKey = "host_key", auth, transport, transportReason = "transport_reason"
    }

    /// Creates the details.
    public init(summary: ConnectionSummary) {
        setupMS = String(Int(summary.setupTime.seconds * 1000))
        endpoint = summary.endpoint
        hostKey = summary.hostKey
        auth = summary.authMethod
        transport = summary.transport
        transportReason = summary.transportReason
    }
}
