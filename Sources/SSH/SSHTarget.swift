import Foundation

/// One way of proving who we are to a server, tried in the order given.
public enum SSHAuthMethod: Sendable, Hashable, CustomStringConvertible {
    /// A private key file (ed25519 or ECDSA), optionally encrypted with a passphrase.
    case privateKeyFile(path: String, passphrase: SSHSecret?)
    /// The identities of an ssh-agent; `socket` nil means `$SSH_AUTH_SOCK`.
    case agent(socket: String?)
    /// A password.
    case password(SSHSecret)

    public var description: String {
        switch self {
        case .privateKeyFile(let path, _): "publickey \(path)"
        case .agent: "agent"
        case .password: "password"
        }
    }
}

/// What to do with a host whose key is not in known_hosts.
public enum HostKeyPolicy: Sendable, Hashable {
    /// Refuse unknown and changed keys (the default).
    case strict
    /// Append unknown keys to the first known_hosts file (and say so); still refuse changed keys.
    case acceptNew
}

/// Everything needed to reach one host: address, user, credentials, host key files, timeouts, jump hosts.
public struct SSHTarget: Sendable, Hashable {
    /// The name the user knows the host by (inventory name), used in messages.
    public var name: String
    /// Hostname or IP address to dial.
    public var address: String
    /// TCP port.
    public var port: Int
    /// Remote user.
    public var user: String
    /// Authentication methods, tried in order until one succeeds.
    public var authentication: [SSHAuthMethod]
    /// known_hosts files; the first one receives new keys under ``HostKeyPolicy/acceptNew``.
    public var knownHostsFiles: [String]
    /// Unknown-key policy; changed keys are always refused.
    public var hostKeyPolicy: HostKeyPolicy
    /// Bound on TCP connect + handshake + authentication.
    public var connectTimeout: Duration
    /// How often an idle connection sends a keepalive; a dead peer is noticed within about three of these.
    public var keepaliveInterval: Duration
    /// Jump hosts, outermost first (ProxyJump); each is reached through the previous one.
    public var jumps: [SSHTarget]

    /// Creates a target.
    public init(
        name: String, address: String, port: Int = 22, user: String,
        authentication: [SSHAuthMethod], knownHostsFiles: [String],
        hostKeyPolicy: HostKeyPolicy = .strict, connectTimeout: Duration = .seconds(10),
        keepaliveInterval: Duration = .seconds(5), jumps: [SSHTarget] = []
    ) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.authentication = authentication
        self.knownHostsFiles = knownHostsFiles
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.jumps = jumps
    }

    /// `address:port`, with IPv6 addresses in brackets.
    public var endpoint: String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// The name under which the host key is looked up in known_hosts (`host` or `[host]:port`).
    public var knownHostsName: String {
        port == 22 ? address : "[\(address)]:\(port)"
    }
}
