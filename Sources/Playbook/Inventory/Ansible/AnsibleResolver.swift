import Foundation

/// Resolves an ``AnsibleInventory`` into golive's ``Inventory`` as Ansible resolves a host's
/// variables from its inventory sources — `all`'s vars < the host's groups' vars (by depth, then
/// `ansible_group_priority`, then name) < `group_vars/all` < `group_vars/GROUP` (same order) <
/// the host's own vars < `host_vars/HOST`, sources in the order given — and maps the connection
/// variables (`ansible_host`, `ansible_port`, `ansible_user`, ...) to golive's settings.
struct AnsibleResolver {
    let inventory: AnsibleInventory
    /// The sources, in the order given (for `group_vars/` and `host_vars/`).
    let sources: [String]
    let varsFiles: AnsibleVarsFiles
    let environment: [String: String]
    let requireSecrets: Bool
    /// `--environment`, when given.
    let environmentName: String?
    /// Without a name from either, an error (else the environment is empty).
    var requireEnvironment = true

    static let vaultHint =
        "give the value to golive as a secret from the environment instead, e.g. ansible_become_password: \"{{ lookup('env', 'SUDO_PASSWORD') }}\""

    /// golive's names for what a template sees besides host variables: an inventory variable of one
    /// of these names would be hidden by them, so it is left out with a warning.
    static let reserved: Set = ["host", "run", "plays", "groups", "hosts", "play", "batch", "loop"]

    /// Ansible's own variables (`inventory_hostname`, `group_names`, ...): Ansible always sets
    /// them itself, and `ansible-inventory` leaves an inventory's out; so does golive, with a warning.
    static let ansibleInternal: Set = [
        "ansible_async_path", "ansible_collection_name", "ansible_config_file", "ansible_dependent_role_names", "ansible_diff_mode",
        "ansible_facts", "ansible_forks", "ansible_inventory_sources", "ansible_limit", "ansible_play_batch", "ansible_play_hosts",
        "ansible_play_hosts_all", "ansible_play_role_names", "ansible_playbook_python", "ansible_role_name", "ansible_role_names",
        "ansible_run_tags", "ansible_skip_tags", "ansible_verbosity", "ansible_version", "inventory_dir", "inventory_file",
        "inventory_hostname", "inventory_hostname_short", "group_names", "hostvars", "playbook_dir", "play_hosts", "role_name",
        "role_names", "role_path", "role_uuid",
    ]

    /// The host a ProxyJump hop names (`user@host:port` → `host`).
    static func hopHost(_ hop: String) -> String {
        hop.split(separator: "@").last.map { String($0.split(separator: ":").first ?? "") } ?? hop
    }

    /// The inventory, and every problem found.
    func resolve() -> (Inventory?, [PlaybookError]) {
        var diagnostics: [PlaybookError] = []
        let depths = inventory.depths()
        func sorted(_ names: [String]) -> [String] {
            names.sorted { left, right in
                let a = inventory.groups[left], b = inventory.groups[right]
                let (da, db) = (depths[left] ?? 0, depths[right] ?? 0)
                if da != db { return da < db }
                if (a?.priority ?? 1) != (b?.priority ?? 1) { return (a?.priority ?? 1) < (b?.priority ?? 1) }
                return left.unicodeScalars.lexicographicallyPrecedes(right.unicodeScalars)
            }
        }
        let bases = sources.map(AnsibleVarsFiles.baseDirectory)
        var secrets: [String: SecretSource] = [:]
        var warned = Set<SourceLocation>()
        var refused = Set<SourceLocation>()
        var said = Set<String>()
        var jumpLocations: [String: (key: String, location: SourceLocation)] = [:]
        var hosts: [InventoryHost] = []
        var environmentValues: [(String, SourceLocation)] = []
        for name in inventory.hostsOf("all") {
            guard let host = inventory.hosts[name] else { continue }
            if !InventoryParser.validName(name) || name.hasPrefix("-") {
                diagnostics.append(
                    PlaybookError(
                        .invalidValue("'\(name)' is not a host name golive accepts (letters, digits, . _ -, not starting with '-')"),
                        at: host.location, keyPath: name))
                continue
            }
            let memberOf = inventory.groups(of: name)
            let groups = sorted(memberOf.filter { $0 != "all" })
            var vars: [String: AnsibleInventory.Variable] = [:]
            func combine(_ more: [String: AnsibleInventory.Variable]) { for (key, value) in more { vars[key] = value } }
            func combine(_ more: [(String, AnsibleInventory.Variable)]) { for (key, value) in more { vars[key] = value } }
            combine(inventory.groups["all"]?.vars ?? [:])
            for group in groups { combine(inventory.groups[group]?.vars ?? [:]) }
            for base in bases { combine(varsFiles.variables("group_vars", "all", in: base)) }
            for base in bases { for group in groups { combine(varsFiles.variables("group_vars", group, in: base)) } }
            combine(host.vars)
            for base in bases { combine(varsFiles.variables("host_vars", name, in: base)) }

            var resolved = InventoryHost(
                name: name, address: name, addressGiven: false, ssh: SSHSettings(), vars: [:],
                groups: memberOf.filter { $0 != "all" }.reversed(), location: host.location)
            var mapping = AnsibleConnection(host: name, environment: environment, requireSecrets: requireSecrets)
            for key in vars.keys.sorted() {
                guard let variable = vars[key] else { continue }
                if variable.vault {
                    if refused.insert(variable.location).inserted {
                        diagnostics.append(
                            PlaybookError(
                                .invalidValue("'\(key)' is an Ansible Vault value, which golive does not decrypt"), at: variable.location,
                                keyPath: key, hint: Self.vaultHint))
                    }
                    continue
                }
                if key == "golive_environment" {
                    environmentValues.append((variable.value.text(revealingSecrets: false), variable.location))
                }
                // Names golive's templates or Ansible itself keep for their own are left out.
                let owner = Self.ansibleInternal.contains(key)
                    ? "it is Ansible's own (golive's templates say host.name, host.groups)"
                    : Self.reserved.contains(key) ? "templates use that name for golive's own (\(key).…)" : nil
                if let owner {
                    if warned.insert(variable.location).inserted {
                        diagnostics.append(
                            PlaybookError(
                                .invalidValue("variable '\(key)' is left out: \(owner)"), at: variable.location, keyPath: key,
                                hint: "rename it to use it in templates", severity: .warning))
                    }
                    continue
                }
                resolved.vars[key] = mapping.apply(key, variable, to: &resolved)
            }
            for (name, source) in mapping.secrets { secrets[name] = source }
            if let location = mapping.jumpLocation { jumpLocations[name] = location }
            if resolved.ssh.connection == .local, resolved.addressGiven || resolved.ssh.user != nil || resolved.ssh.port != nil
                || resolved.ssh.identity != nil || resolved.ssh.proxyJump != nil
            {
                diagnostics.append(
                    PlaybookError(
                        .invalidValue("\(name)'s connection variables are ignored: ansible_connection: local makes it the controller"),
                        at: host.location, keyPath: "ansible_connection", severity: .warning))
            }
            // A variable shared by many hosts (a group's) is said once, not once per host.
            for diagnostic in mapping.diagnostics where said.insert("\(diagnostic.location)|\(diagnostic.kind.message)").inserted {
                diagnostics.append(diagnostic)
            }
            hosts.append(resolved)
        }
        diagnostics += varsFiles.diagnostics

        // The environment: `golive_environment` (one value for every host) or `--environment`.
        let first = sources.first ?? ""
        var environmentName = self.environmentName
        let named = Set(environmentValues.map(\.0))
        if named.count > 1 {
            diagnostics.append(
                PlaybookError(
                    .conflict("golive_environment differs between hosts (\(named.sorted().joined(separator: ", "))): one inventory is one environment"),
                    at: environmentValues[0].1, keyPath: "golive_environment"))
        } else if let value = named.first {
            if let given = environmentName, given != value {
                diagnostics.append(
                    PlaybookError(
                        .conflict("--environment \(given) disagrees with golive_environment: \(value) in the inventory"),
                        at: environmentValues[0].1, keyPath: "golive_environment"))
            }
            environmentName = value
        }
        if let name = environmentName, !InventoryParser.validName(name) {
            diagnostics.append(
                PlaybookError(
                    .invalidValue("'\(name)' is not a valid environment name (letters, digits, . _ -)"),
                    at: environmentValues.first?.1 ?? .commandLine("environment"), keyPath: "golive_environment"))
            environmentName = nil
        }

        // Jump hosts named in the inventory become inventory jumps, as in golive's own format; a
        // cycle of them, or a jump through the controller (`ansible_connection: local`), is refused.
        let names = Set(hosts.map(\.name))
        let index = Dictionary(uniqueKeysWithValues: hosts.enumerated().map { ($1.name, $0) })
        for position in hosts.indices {
            guard let jump = hosts[position].ssh.proxyJump else { continue }
            let hops = jump.split(separator: ",").map(String.init)
            if hops.count == 1, let only = hops.first, names.contains(only) {
                hosts[position].ssh.jump = only
                hosts[position].ssh.proxyJump = nil
            }
            let location = jumpLocations[hosts[position].name]?.location ?? hosts[position].location
            for hop in hops {
                let name = Self.hopHost(hop)
                if let other = index[name], hosts[other].ssh.connection == .local {
                    diagnostics.append(
                        PlaybookError(
                            .invalidValue("'\(name)' is the controller (ansible_connection: local): no SSH goes through it"),
                            at: location, keyPath: jumpLocations[hosts[position].name]?.key ?? "ansible_ssh_common_args"))
                }
            }
        }
        // Every inventory host a host's jumps name, however written (`u@a:22`, `a,b`): no cycle.
        var search = GraphCycle { name in
            guard let position = index[name] else { return [] }
            if let jump = hosts[position].ssh.jump { return [jump] }
            return (hosts[position].ssh.proxyJump ?? "").split(separator: ",").map { Self.hopHost(String($0)) }.filter { index[$0] != nil }
        }
        var reported = Set<String>()
        for host in hosts {
            guard let cycle = search.cycle(from: host.name), reported.insert(cycle.sorted().joined(separator: ",")).inserted else { continue }
            let first = cycle[0]
            diagnostics.append(
                PlaybookError(
                    .invalidValue("jump hosts form a cycle: \(cycle.joined(separator: " → "))"),
                    at: jumpLocations[first]?.location ?? index[first].map { hosts[$0].location } ?? SourceLocation(file: first, line: 1, column: 1),
                    keyPath: jumpLocations[first]?.key ?? "ansible_ssh_common_args"))
        }
        var groups: [String: InventoryGroup] = [:]
        for name in inventory.groupOrder where name != "all" {
            guard let group = inventory.groups[name] else { continue }
            if name == "ungrouped", group.hosts.isEmpty { continue }
            groups[name] = InventoryGroup(
                name: name, hosts: group.hosts.filter(names.contains), children: group.children, vars: [:], ssh: SSHSettings(),
                location: group.location ?? SourceLocation(file: first, line: 1, column: 1))
        }
        guard let environmentName = environmentName ?? (requireEnvironment ? nil : "") else {
            if !diagnostics.contains(where: { $0.severity == .error }) {
                diagnostics.append(
                    PlaybookError(
                        .missingKey("golive_environment"), at: SourceLocation(file: first, line: 1, column: 1), keyPath: "",
                        hint: "name the environment (it names the lock and the timeline): `golive_environment: production` in group_vars/all, or --environment production"))
            }
            return (nil, diagnostics)
        }
        var result = Inventory(file: first, environment: environmentName, hosts: hosts, groups: groups, vars: [:], secrets: secrets)
        result.sources = sources
        result.format = .ansible
        result.groupOrder = inventory.groupOrder.filter { groups[$0] != nil }
        result.topGroups = inventory.groups["all"]?.children ?? []
        result.hostDefinitionOrder = inventory.hostOrder.filter(names.contains)
        return (result, diagnostics)
    }
}
