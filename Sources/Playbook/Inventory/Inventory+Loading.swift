import Foundation
import Yams

extension Inventory {
    /// Reads and checks an inventory file.
    ///
    /// - Parameters:
    ///   - file: the YAML file.
    ///   - environment: where secrets are read from (default: this process's environment).
    ///   - requireSecrets: a missing secret is an error (for commands that connect) rather than a warning.
    /// - Returns: the inventory and any warnings.
    /// - Throws: ``ValidationFailure`` with every problem found, when any is an error.
    public static func load(
        file: String, environment: [String: String] = ProcessInfo.processInfo.environment, requireSecrets: Bool = false
    ) throws(ValidationFailure) -> (Inventory, warnings: [PlaybookError]) {
        try load(sources: [file], environment: environment, requireSecrets: requireSecrets)
    }

    /// Reads golive's own inventory file.
    static func loadGolive(file: String, environment: [String: String], requireSecrets: Bool, environmentName: String?)
        throws(ValidationFailure) -> (Inventory, warnings: [PlaybookError])
    {
        let (reader, root) = YAMLReader.load(file: file)
        guard let root else { throw ValidationFailure(reader.diagnostics) }
        let inventory = InventoryParser(
            reader: reader, environment: environment, requireSecrets: requireSecrets, givenEnvironment: environmentName
        ).parse(root)
        let diagnostics = reader.diagnostics.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
        if diagnostics.contains(where: { $0.severity == .error }) { throw ValidationFailure(diagnostics) }
        guard let inventory else { throw ValidationFailure(diagnostics) }
        return (inventory, diagnostics)
    }
}

/// Builds an ``Inventory`` from YAML.
struct InventoryParser {
    let reader: YAMLReader
    let environment: [String: String]
    let requireSecrets: Bool
    /// `--environment`, when given: names an inventory that does not, and must agree with one that does.
    var givenEnvironment: String? = nil

    static let topKeys = ["environment", "defaults", "groups", "hosts", "vars", "secrets", "notify"]
    static let sshKeys = [
        "user", "port", "identity", "known_hosts", "connect_timeout", "jump", "passphrase", "password", "transport", "connection",
    ] + BecomeSettings.keys + ["become_password"]
    static let hostKeys = ["address"] + sshKeys + ["vars"]
    static let groupKeys = ["hosts", "children", "vars"] + sshKeys

    func parse(_ root: Node) -> Inventory? {
        guard let entries = reader.mapping(root, "", allowed: Self.topKeys) else { return nil }
        var environmentName: String?
        var defaults = SSHSettings()
        var vars: [String: Value] = [:]
        var secrets: [String: SecretSource] = [:]
        var notify: [NotifyTarget] = []
        var hosts: [InventoryHost] = []
        var hostIndex: [String: Int] = [:]
        var groups: [String: InventoryGroup] = [:]
        var hostSSH: [String: SSHSettings] = [:]
        var directGroups: [String: [String]] = [:]

        func addHost(_ name: String, _ keyNode: Node, _ node: Node, path: String, group: String?) {
            if let existing = hostIndex[name] {
                // A host may be listed in several groups; only one listing may describe it.
                if case .mapping(let mapping) = node, !mapping.isEmpty, hosts[existing].location != reader.location(keyNode),
                    !hostSSH[name, default: SSHSettings()].isEmpty || hosts[existing].addressGiven
                {
                    reader.error(
                        .duplicate("host '\(name)' is described twice (first at line \(hosts[existing].location.line))"),
                        keyNode, path, hint: "describe a host once; list it by name only (`\(name):`) in other groups")
                }
                if let group { directGroups[name, default: []].append(group) }
                return
            }
            if !Self.validName(name) {
                reader.error(.invalidValue("'\(name)' is not a valid host name (letters, digits, . _ -)"), keyNode, path)
                return
            }
            if name.hasPrefix("-") {
                // Quoting keeps a value one word; it does not stop a command reading `-c` as an option.
                reader.error(
                    .invalidValue("'\(name)' starts with '-': commands it is passed to would read it as an option"), keyNode, path,
                    hint: "start host names with a letter or a digit")
                return
            }
            var host = InventoryHost(
                name: name, address: name, addressGiven: false, ssh: SSHSettings(), vars: [:], groups: [],
                location: reader.location(keyNode))
            var ssh = SSHSettings()
            if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" {
                // `web1:` with no settings.
            } else if let entries = reader.mapping(node, path, allowed: Self.hostKeys) {
                for entry in entries {
                    let keyPath = "\(path).\(entry.key)"
                    switch entry.key {
                    case "address":
                        if let address = reader.nonEmptyString(entry.value, keyPath) {
                            if address.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" }) {
                                reader.error(.invalidValue("'\(address)' is not a host name or IP address"), entry.value, keyPath)
                            } else {
                                host.address = address
                                host.addressGiven = true
                            }
                        }
                    case "vars": host.vars = reader.variables(entry.value, keyPath)
                    default: readSSH(entry.key, entry.value, keyPath, into: &ssh)
                    }
                }
            }
            hostSSH[name] = ssh
            hostIndex[name] = hosts.count
            hosts.append(host)
            if let group { directGroups[name, default: []].append(group) }
        }

        for entry in entries {
            switch entry.key {
            case "environment":
                if let name = reader.nonEmptyString(entry.value, "environment") {
                    if Self.validName(name) { environmentName = name } else {
                        reader.error(.invalidValue("'\(name)' is not a valid environment name (letters, digits, . _ -)"), entry.value, "environment")
                    }
                }
            case "defaults":
                if let settings = reader.mapping(entry.value, "defaults", allowed: Self.sshKeys) {
                    for setting in settings { readSSH(setting.key, setting.value, "defaults.\(setting.key)", into: &defaults) }
                }
            case "vars": vars = reader.variables(entry.value, "vars")
            case "secrets": secrets = parseSecrets(entry.value)
            case "notify": notify = NotifyParser(reader: reader).parse(entry.value, "notify")
            case "hosts":
                if let listed = reader.mapping(entry.value, "hosts") {
                    for host in listed { addHost(host.key, host.keyNode, host.value, path: "hosts.\(host.key)", group: nil) }
                }
            case "groups":
                guard let listed = reader.mapping(entry.value, "groups") else { continue }
                for groupEntry in listed {
                    let name = groupEntry.key
                    let path = "groups.\(name)"
                    if !Self.validName(name) || name == "all" {
                        reader.error(.invalidValue("'\(name)' cannot name a group"), groupEntry.keyNode, path)
                        continue
                    }
                    var group = InventoryGroup(
                        name: name, hosts: [], children: [], vars: [:], ssh: SSHSettings(),
                        location: reader.location(groupEntry.keyNode))
                    if let fields = reader.mapping(groupEntry.value, path, allowed: Self.groupKeys) {
                        for field in fields {
                            let keyPath = "\(path).\(field.key)"
                            switch field.key {
                            case "hosts":
                                if case .sequence = field.value, let names = reader.sequence(field.value, keyPath) {
                                    for (index, item) in names.enumerated() {
                                        if let hostName = reader.nonEmptyString(item, "\(keyPath)[\(index)]") {
                                            addHost(hostName, item, .scalar(.init("")), path: "\(keyPath)[\(index)]", group: name)
                                            group.hosts.append(hostName)
                                        }
                                    }
                                } else if let members = reader.mapping(field.value, keyPath) {
                                    for member in members {
                                        addHost(member.key, member.keyNode, member.value, path: "\(keyPath).\(member.key)", group: name)
                                        group.hosts.append(member.key)
                                    }
                                }
                            case "children":
                                if case .sequence = field.value, let items = reader.sequence(field.value, keyPath) {
                                    for (index, item) in items.enumerated() {
                                        if let child = reader.nonEmptyString(item, "\(keyPath)[\(index)]") {
                                            group.children.append(child)
                                        }
                                    }
                                } else if let items = reader.mapping(field.value, keyPath) {
                                    group.children += items.map(\.key)
                                }
                            case "vars": group.vars = reader.variables(field.value, keyPath)
                            default: readSSH(field.key, field.value, keyPath, into: &group.ssh)
                            }
                        }
                    }
                    groups[name] = group
                }
            default: break
            }
        }

        if let given = givenEnvironment {
            if let named = environmentName, named != given {
                reader.error(
                    .conflict("--environment \(given) disagrees with the inventory's environment: \(named)"),
                    at: reader.location(root), "environment")
            }
            environmentName = environmentName ?? given
        }
        if environmentName == nil {
            reader.error(
                .missingKey("environment"), at: reader.location(root), "",
                hint: "name the environment, e.g. `environment: production`; it names the lock and the timeline")
        }
        // Child groups must exist; cycles are errors.
        for group in groups.values.sorted(by: { $0.location.line < $1.location.line }) {
            for child in group.children where groups[child] == nil {
                let hint = Suggestions.closest(to: child, in: Array(groups.keys)).map { "did you mean '\($0)'?" }
                reader.error(.unknownHost("child group '\(child)' is not defined"), at: group.location, "groups.\(group.name).children", hint: hint)
            }
        }
        if let cycle = Self.groupCycle(groups) {
            reader.error(
                .invalidValue("groups form a cycle: \(cycle.joined(separator: " → "))"),
                at: groups[cycle[0]]?.location ?? reader.location(root), "groups.\(cycle[0]).children")
        }
        // Group membership through children, ancestors first.
        var parents: [String: [String]] = [:]
        for group in groups.values { for child in group.children { parents[child, default: []].append(group.name) } }
        func ancestors(_ name: String, depth: Int) -> [String] {
            guard depth < 64 else { return [] }
            return (parents[name] ?? []).sorted().flatMap { ancestors($0, depth: depth + 1) + [$0] }
        }
        for index in hosts.indices {
            let name = hosts[index].name
            var all: [String] = []
            for group in directGroups[name] ?? [] {
                for member in ancestors(group, depth: 0) + [group] where !all.contains(member) { all.append(member) }
            }
            hosts[index].groups = all
            var ssh = hostSSH[name] ?? SSHSettings()
            for group in all.reversed() { ssh = ssh.filled(from: groups[group]?.ssh ?? SSHSettings()) }
            hosts[index].ssh = ssh.filled(from: defaults)
        }
        // Jumps name inventory hosts; no cycles.
        for host in hosts {
            guard let jump = host.ssh.jump else { continue }
            if hostIndex[jump] == nil {
                let hint = Suggestions.closest(to: jump, in: hosts.map(\.name)).map { "did you mean '\($0)'?" }
                reader.error(.unknownHost("jump host '\(jump)' is not an inventory host"), at: host.location, "hosts.\(host.name).jump", hint: hint)
                continue
            }
            var seen: [String] = [host.name]
            var current = jump
            while let next = hosts.first(where: { $0.name == current }) {
                if seen.contains(current) {
                    reader.error(
                        .invalidValue("jump hosts form a cycle: \((seen + [current]).joined(separator: " → "))"),
                        at: host.location, "hosts.\(host.name).jump")
                    break
                }
                seen.append(current)
                guard let further = next.ssh.jump else { break }
                current = further
            }
        }
        for host in hosts {
            for secret in [host.ssh.passphraseSecret, host.ssh.passwordSecret, host.ssh.become.passwordSecret].compactMap({ $0 })
            where secrets[secret] == nil {
                reader.error(.unknownHost("secret '\(secret)' is not declared under secrets:"), at: host.location, "hosts.\(host.name)")
            }
        }
        guard let environmentName else { return nil }
        var inventory = Inventory(file: reader.file, environment: environmentName, hosts: hosts, groups: groups, vars: vars, secrets: secrets)
        inventory.notify = notify
        return inventory
    }

    private func readSSH(_ key: String, _ node: Node, _ path: String, into settings: inout SSHSettings) {
        switch key {
        case "user": settings.user = reader.nonEmptyString(node, path)
        case "port": settings.port = reader.int(node, path, range: 1...65535)
        case "identity": settings.identity = reader.nonEmptyString(node, path)
        case "known_hosts": settings.knownHosts = reader.nonEmptyString(node, path)
        case "connect_timeout": settings.connectTimeout = reader.duration(node, path, positive: true)
        case "jump": settings.jump = reader.nonEmptyString(node, path)
        case "transport":
            guard let name = reader.nonEmptyString(node, path) else { return }
            if let choice = TransportChoice(rawValue: name) {
                settings.transport = choice
            } else {
                reader.error(
                    .invalidValue("'\(name)' is not a transport (libssh2, openssh or auto)"), node, path,
                    hint: "auto (the default) uses libssh2 and OpenSSH where a host needs it")
            }
        case "connection":
            guard let name = reader.nonEmptyString(node, path) else { return }
            if let type = ConnectionType(rawValue: name) {
                settings.connection = type
            } else {
                reader.error(
                    .invalidValue("'\(name)' is not a connection (ssh or local)"), node, path,
                    hint: "local runs the host's commands on the controller, with no SSH")
            }
        case "passphrase", "password", "become_password":
            // `{ secret: NAME }` names an entry of `secrets:`.
            guard let entries = reader.mapping(node, path, allowed: ["secret"]) else { return }
            guard let entry = entries.first else {
                reader.error(.missingKey("secret"), node, path, hint: "write `\(key): { secret: NAME }`")
                return
            }
            let name = reader.nonEmptyString(entry.value, "\(path).secret")
            switch key {
            case "passphrase": settings.passphraseSecret = name
            case "password": settings.passwordSecret = name
            default: settings.become.passwordSecret = name
            }
        default: reader.become(key, node, path, into: &settings.become)
        }
    }

    private func parseSecrets(_ node: Node) -> [String: SecretSource] {
        guard let entries = reader.mapping(node, "secrets") else { return [:] }
        var secrets: [String: SecretSource] = [:]
        for entry in entries {
            let path = "secrets.\(entry.key)"
            guard let fields = reader.mapping(entry.value, path, allowed: ["env"]) else { continue }
            guard let env = fields.first(where: { $0.key == "env" }) else {
                reader.error(.missingKey("env"), entry.value, path, hint: "write `\(entry.key): { env: VARIABLE }`")
                continue
            }
            guard let variable = reader.nonEmptyString(env.value, "\(path).env") else { continue }
            var (source, problems) = SecretSource.fromEnvironment(
                name: entry.key, variable: variable, environment: environment, requireSecrets: requireSecrets,
                at: reader.location(env.value), keyPath: "\(path).env")
            for problem in problems { reader.add(problem) }
            source.location = reader.location(entry.keyNode)
            secrets[entry.key] = source
        }
        return secrets
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) }
    }

    static func groupCycle(_ groups: [String: InventoryGroup]) -> [String]? {
        var search = GraphCycle { name in (groups[name]?.children ?? []).filter { groups[$0] != nil } }
        for name in groups.keys.sorted() { if let cycle = search.cycle(from: name) { return cycle } }
        return nil
    }
}

extension SSHSettings {
    var isEmpty: Bool { self == SSHSettings() }
}
