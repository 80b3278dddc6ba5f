import Playbook

/// How golive would reach a host, resolved without connecting: the inventory, then ssh_config,
/// then defaults (for `golive inventory`).
public struct HostRoute: Sendable, Hashable {
    /// The controller itself (`connection: local`): none of the rest applies.
    public var local: Bool
    /// The address dialled.
    public var address: String
    /// The port.
    public var port: Int
    /// The login user.
    public var user: String
    /// The private key files tried, in order (`ssh-agent` for the agent's keys).
    public var identities: [String]
    /// The known_hosts files that verify its key.
    public var knownHosts: [String]
    /// The jump hosts, outermost first (`user@address:port`).
    public var jumps: [String]
    /// Which SSH implementation connects, and why.
    public var transport: TransportDecision?
}

extension SSHTransport {
    /// How `host` would be reached.
    ///
    /// - Throws: ``TransportError`` when its settings cannot make a connection (a jump host that is
    ///   not in the inventory, a chain too long).
    public func route(for host: InventoryHost) throws -> HostRoute {
        if host.ssh.connection == .local {
            return HostRoute(local: true, address: "", port: 0, user: "", identities: [], knownHosts: [], jumps: [], transport: nil)
        }
        let target = try target(for: host)
        let identities = target.authentication.compactMap { method -> String? in
            switch method {
            case .privateKeyFile(let path, _): Self.tilde(path)
            case .agent: "ssh-agent"
            default: nil
            }
        }
        return HostRoute(
            local: false, address: target.address, port: target.port, user: target.user, identities: identities,
            knownHosts: target.knownHostsFiles.map(Self.tilde), jumps: target.jumps.map { "\($0.user)@\($0.address):\($0.port)" },
            transport: try decision(for: host))
    }
}
