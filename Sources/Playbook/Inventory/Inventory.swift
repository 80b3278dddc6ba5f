/// The servers of one environment: hosts, groups, SSH settings, variables and secrets.
public struct Inventory: Sendable {
    /// The file it was read from.
    public var file: String
    /// Names the lock and the timeline (`production`, `staging`).
    public var environment: String
    /// Every host, in file order.
    public var hosts: [InventoryHost]
    /// Groups by name: direct member hosts and child groups.
    public var groups: [String: InventoryGroup]
    /// Variables for every host (lowest precedence).
    public var vars: [String: Value]
    /// Secrets by name (already read from the environment, or missing).
    public var secrets: [String: SecretSource]
    /// `notify:`: who is told of this environment's runs.
    public var notify: [NotifyTarget] = []
    /// Every source it was read from, in the order given (one for golive's own format).
    public var sources: [String] = []
    /// golive's own format, or Ansible's.
    public var format: InventoryFormat = .golive
    /// The groups in the order the inventory defines them (Ansible's order for an Ansible inventory).
    public var groupOrder: [String] = []
    /// The hosts in the order the inventory first names them, when that is not ``hosts``' order
    /// (an Ansible inventory's: a wildcard or a regular expression matches hosts in this order).
    public var hostDefinitionOrder: [String] = []
    /// The groups `all` lists as its children, in order (Ansible's; nil: those no group lists).
    public var topGroups: [String]?

    /// The groups in definition order: ``groupOrder``, else by where each is written.
    public var orderedGroupNames: [String] {
        if !groupOrder.isEmpty { return groupOrder.filter { groups[$0] != nil } }
        return groups.values.sorted { ($0.location.line, $0.name) < ($1.location.line, $1.name) }.map(\.name)
    }

    /// An inventory.
    public init(
        file: String, environment: String, hosts: [InventoryHost], groups: [String: InventoryGroup], vars: [String: Value],
        secrets: [String: SecretSource]
    ) {
        self.file = file
        self.environment = environment
        self.hosts = hosts
        self.groups = groups
        self.vars = vars
        self.secrets = secrets
        self.sources = file.isEmpty ? [] : [file]
    }

    /// An inventory of an environment with no host (for commands that reach none).
    public static func empty(environment: String) -> Inventory {
        Inventory(file: "", environment: environment, hosts: [], groups: [:], vars: [:], secrets: [:])
    }

    /// A host's variables as templates see them: the inventory's < its groups' (ancestors first) <
    /// its own. (An Ansible inventory's are resolved into the host's own when it is read.)
    public func variables(of host: InventoryHost) -> [String: Value] {
        var merged = vars
        for group in host.groups { for (key, value) in groups[group]?.vars ?? [:] { merged[key] = value } }
        for (key, value) in host.vars { merged[key] = value }
        return merged
    }

    /// The host called `name`.
    public func host(named name: String) -> InventoryHost? { hosts.first { $0.name == name } }

    /// Every host of a group, its children's included, in file order.
    public func members(of group: String) -> [String] {
        var seen = Set<String>()
        var names: [String] = []
        func visit(_ name: String, depth: Int) {
            guard depth < 64, let group = groups[name] else { return }
            for host in group.hosts where seen.insert(host).inserted { names.append(host) }
            for child in group.children { visit(child, depth: depth + 1) }
        }
        visit(group, depth: 0)
        let order = Dictionary(uniqueKeysWithValues: hosts.enumerated().map { ($1.name, $0) })
        return names.sorted { (order[$0] ?? 0) < (order[$1] ?? 0) }
    }
}

/// A named set of hosts and child groups with shared variables and SSH settings.
public struct InventoryGroup: Sendable, Hashable {
    /// The group's name.
    public var name: String
    /// Hosts listed directly in the group.
    public var hosts: [String]
    /// Child groups (`children:`).
    public var children: [String]
    /// Variables for the group's hosts.
    public var vars: [String: Value]
    /// SSH settings for the group's hosts.
    public var ssh: SSHSettings
    /// Where the group is defined.
    public var location: SourceLocation
}

/// How a secret's value is obtained.
public struct SecretSource: Sendable, Hashable {
    /// The environment variable holding it (nil for a value written in an Ansible inventory).
    public var environmentVariable: String?
    /// The value, when the variable is set.
    public var value: Secret?
    /// Where it is declared.
    public var location: SourceLocation
}

/// SSH settings, merged defaults < group < host; `~/.ssh/config` fills what is still unset.
public struct SSHSettings: Sendable, Hashable {
    /// Remote user.
    public var user: String?
    /// TCP port.
    public var port: Int?
    /// Private key file.
    public var identity: String?
    /// known_hosts file.
    public var knownHosts: String?
    /// Bound on connect + handshake + authentication.
    public var connectTimeout: Duration?
    /// Inventory host to jump through (ProxyJump).
    public var jump: String?
    /// Secret name holding the key's passphrase.
    public var passphraseSecret: String?
    /// Secret name holding the login password.
    public var passwordSecret: String?
    /// `become*` for the host's steps (the playbook's, a play's and a step's own are nearer).
    public var become = BecomeSettings()
    /// `transport:`: which SSH implementation connects (nil: `auto`).
    public var transport: TransportChoice?
    /// A ProxyJump (`[user@]host[:port][,...]`) through hosts that are not in the inventory.
    public var proxyJump: String?
    /// `connection: local` runs the host's commands on the controller, with no SSH (nil: SSH).
    public var connection: ConnectionType?

    /// No settings.
    public init() {}

    /// `self` with every unset field taken from `other`.
    public func filled(from other: SSHSettings) -> SSHSettings {
        var merged = self
        merged.user = user ?? other.user
        merged.port = port ?? other.port
        merged.identity = identity ?? other.identity
        merged.knownHosts = knownHosts ?? other.knownHosts
        merged.connectTimeout = connectTimeout ?? other.connectTimeout
        merged.jump = jump ?? other.jump
        merged.passphraseSecret = passphraseSecret ?? other.passphraseSecret
        merged.passwordSecret = passwordSecret ?? other.passwordSecret
        merged.become = become.filled(from: other.become)
        merged.transport = transport ?? other.transport
        merged.proxyJump = proxyJump ?? other.proxyJump
        merged.connection = connection ?? other.connection
        return merged
    }
}

/// One server.
public struct InventoryHost: Sendable, Hashable {
    /// The inventory name (used in patterns, messages and the timeline).
    public var name: String
    /// Address to dial (defaults to the name; `~/.ssh/config`'s HostName may still apply).
    public var address: String
    /// True when the address was written in the inventory (else `~/.ssh/config` may supply one).
    public var addressGiven: Bool
    /// SSH settings after defaults and groups were applied.
    public var ssh: SSHSettings
    /// The host's own variables.
    public var vars: [String: Value]
    /// Groups the host belongs to, directly or through `children`, ancestors first.
    public var groups: [String]
    /// Where the host is defined.
    public var location: SourceLocation
}
