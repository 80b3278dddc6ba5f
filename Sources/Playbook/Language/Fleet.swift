import Foundation

/// The fleet as templates see it: `groups.NAME` (a group's hosts in inventory order), `hosts.NAME`
/// (any inventory host), each host as `name`, `address`, `port`, `user`, `groups` and `vars` (its
/// inventory variables: all < groups < host; secrets are not among them). Built once per
/// validation and shared by every host's context, so 10,000 hosts cost one copy, not one per host.
public struct Fleet: Sendable {
    /// `groups`: by group name, the list of its hosts.
    public let groups: Value
    /// `hosts`: by host name.
    public let hosts: Value
    /// Each host's entry, by name.
    let entries: [String: Value]

    /// The fleet of an inventory.
    public init(_ inventory: Inventory) {
        var entries: [String: Value] = [:]
        for host in inventory.hosts {
            var vars = inventory.vars
            for group in host.groups { for (key, value) in inventory.groups[group]?.vars ?? [:] { vars[key] = value } }
            for (key, value) in host.vars { vars[key] = value }
            entries[host.name] = .map([
                "name": .string(host.name), "address": .string(host.address), "port": .int(host.ssh.port ?? 22),
                "user": .string(host.ssh.user ?? ""), "groups": .list(host.groups.map(Value.string)), "vars": .map(vars),
            ])
        }
        var members: [String: [Value]] = ["all": []]
        for group in inventory.groups.keys { members[group] = [] }
        for host in inventory.hosts {
            guard let entry = entries[host.name] else { continue }
            members["all", default: []].append(entry)
            for group in Set(host.groups) { members[group, default: []].append(entry) }
        }
        self.entries = entries
        groups = .map(members.mapValues(Value.list))
        hosts = .map(entries)
    }

    /// The entries of some hosts, in the order given.
    func list(_ names: [String]) -> Value { .list(names.compactMap { entries[$0] }) }
}
