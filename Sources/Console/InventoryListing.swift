import Foundation
import Playbook

/// An inventory as `ansible-inventory` shows one: `--list` (groups with their hosts and children,
/// `_meta.hostvars` with each host's resolved variables, secrets as `••••`) and `--graph`, so
/// tooling written for Ansible reads golive's view of any inventory.
public struct InventoryListing {
    /// The inventory.
    public let inventory: Inventory
    /// The hosts shown (`--limit`), in inventory order.
    public let hosts: [InventoryHost]

    /// A listing of `hosts` of `inventory`.
    public init(inventory: Inventory, hosts: [InventoryHost]) {
        self.inventory = inventory
        self.hosts = hosts
    }

    /// Groups no other group lists as a child, `ungrouped` first, as Ansible's `all` lists them.
    public var topGroups: [String] {
        if let top = inventory.topGroups { return top.contains("ungrouped") ? top : ["ungrouped"] + top }
        let children = Set(inventory.groups.values.flatMap(\.children))
        let top = inventory.groups.keys.filter { !children.contains($0) && $0 != "ungrouped" }
            .sorted { (inventory.groups[$0]?.location.line ?? 0, $0) < (inventory.groups[$1]?.location.line ?? 0, $1) }
        return ["ungrouped"] + top
    }

    /// The hosts of `ungrouped`: those listed in no group.
    private var ungrouped: [String] {
        if let group = inventory.groups["ungrouped"] { return group.hosts }
        return inventory.hosts.filter { $0.groups.isEmpty }.map(\.name)
    }

    private func directHosts(_ group: String) -> [String] {
        group == "ungrouped" ? ungrouped : inventory.groups[group]?.hosts ?? []
    }

    /// `ansible-inventory --list`'s JSON object.
    public func list() -> [String: Any] {
        let shown = Set(hosts.map(\.name))
        var result: [String: Any] = ["all": ["children": topGroups]]
        var seen = Set<String>()
        func add(_ name: String, depth: Int) {
            guard depth < 64, seen.insert(name).inserted else { return }
            var entry: [String: Any] = [:]
            let members = directHosts(name).filter(shown.contains)
            if !members.isEmpty { entry["hosts"] = members }
            let children = inventory.groups[name]?.children ?? []
            if !children.isEmpty { entry["children"] = children }
            if !entry.isEmpty { result[name] = entry }
            for child in children { add(child, depth: depth + 1) }
        }
        for group in topGroups { add(group, depth: 0) }
        var hostvars: [String: Any] = [:]
        for host in hosts {
            let vars = inventory.variables(of: host)
            if !vars.isEmpty { hostvars[host.name] = vars.mapValues(Self.json) }
        }
        result["_meta"] = ["hostvars": hostvars]
        return result
    }

    /// `ansible-inventory --host NAME`'s JSON object: the host's variables.
    public func hostVariables(_ host: InventoryHost) -> [String: Any] {
        inventory.variables(of: host).mapValues(Self.json)
    }

    /// `ansible-inventory --graph`: the tree of groups and hosts under `all`.
    public func graph() -> String {
        let shown = Set(hosts.map(\.name))
        var lines = ["@all:"]
        func line(_ name: String, _ depth: Int) -> String { String(repeating: "  |", count: depth) + "--" + name }
        func add(_ name: String, depth: Int) {
            guard depth < 64 else { return }
            lines.append(line("@\(name):", depth))
            for child in inventory.groups[name]?.children ?? [] { add(child, depth: depth + 1) }
            for host in directHosts(name) where shown.contains(host) { lines.append(line(host, depth + 1)) }
        }
        for group in topGroups { add(group, depth: 1) }
        return lines.joined(separator: "\n")
    }

    /// A value as JSON (a secret as `••••`).
    public static func json(_ value: Value) -> Any {
        switch value {
        case .string(let text): text
        case .int(let number): number
        // JSON has no infinity nor NaN: those are written as text.
        case .double(let number): number.isFinite ? number : String(number)
        case .bool(let flag): flag
        case .null: NSNull()
        case .secret: Value.redactionMark
        case .list(let items): items.map(json)
        case .map(let entries): entries.mapValues(json)
        }
    }
}
