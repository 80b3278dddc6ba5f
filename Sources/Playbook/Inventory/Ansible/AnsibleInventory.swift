/// An Ansible inventory as Ansible's own loader builds it from its sources (INI, YAML, a directory):
/// groups with hosts, child groups and variables, hosts with variables, `all` and `ungrouped`
/// always there. ``AnsibleResolver`` turns it into golive's ``Inventory``.
struct AnsibleInventory {
    /// A variable as an inventory source wrote it, with where.
    struct Variable {
        var value: Value
        var location: SourceLocation
        /// An Ansible Vault value (`!vault`, or a file Ansible Vault encrypted): golive cannot read it.
        var vault = false
    }

    struct Group {
        var name: String
        var hosts: [String] = []
        var children: [String] = []
        var parents: [String] = []
        var vars: [String: Variable] = [:]
        /// `ansible_group_priority` (1 unless set): of two groups of one depth, the higher wins.
        var priority = 1
        var location: SourceLocation?
    }

    struct Host {
        var name: String
        var vars: [String: Variable] = [:]
        var location: SourceLocation
    }

    private(set) var groups: [String: Group] = [:]
    private(set) var groupOrder: [String] = []
    private(set) var hosts: [String: Host] = [:]
    private(set) var hostOrder: [String] = []
    /// Each host's direct groups, in the order it joined them (kept beside the groups' lists so
    /// that a large inventory is read in linear time).
    private var directGroups: [String: [String]] = [:]

    init() {
        addGroup("all", at: nil)
        addGroup("ungrouped", at: nil)
        // As Ansible starts every inventory: `ungrouped` is `all`'s first child.
        _ = addChild("all", "ungrouped")
    }

    /// Adds a group (nothing when it exists).
    mutating func addGroup(_ name: String, at location: SourceLocation?) {
        if groups[name] == nil {
            groups[name] = Group(name: name, location: location)
            groupOrder.append(name)
        } else if groups[name]?.location == nil {
            groups[name]?.location = location
        }
    }

    /// Adds a host (once) and makes it a member of `group`; a port written with the name
    /// (`web1:2222`) becomes its `ansible_port`, as Ansible does when it first meets the host.
    mutating func addHost(_ name: String, group: String?, port: Int?, at location: SourceLocation) {
        if hosts[name] == nil {
            var host = Host(name: name, location: location)
            if let port { host.vars["ansible_port"] = Variable(value: .int(port), location: location) }
            hosts[name] = host
            hostOrder.append(name)
        }
        if let group { join(name, group) }
    }

    /// Makes `host` a direct member of `group` (once).
    private mutating func join(_ host: String, _ group: String) {
        guard groups[group] != nil, directGroups[host]?.contains(group) != true else { return }
        groups[group]?.hosts.append(host)
        directGroups[host, default: []].append(group)
    }

    /// Sets a group's variable; `ansible_group_priority` sets its priority instead. Returns what is
    /// wrong with the value, if anything.
    @discardableResult
    mutating func setGroupVariable(_ group: String, _ key: String, _ variable: Variable) -> String? {
        if key == "ansible_group_priority" {
            switch variable.value {
            case .int(let number): groups[group]?.priority = number
            case .string(let text) where Int(text.trimmingCharacters(in: .whitespaces)) != nil:
                groups[group]?.priority = Int(text.trimmingCharacters(in: .whitespaces)) ?? 1
            default: return "ansible_group_priority must be a whole number, not '\(variable.value.text(revealingSecrets: false))'"
            }
            return nil
        }
        groups[group]?.vars[key] = variable
        return nil
    }

    mutating func setHostVariable(_ host: String, _ key: String, _ variable: Variable) { hosts[host]?.vars[key] = variable }

    /// Makes `child` a child group of `parent`; returns the loop it would make instead, if any
    /// (`parent` reached again from `child`), without adding it.
    mutating func addChild(_ parent: String, _ child: String) -> [String]? {
        guard parent != child else { return [parent, parent] }
        guard let existing = groups[parent], !existing.children.contains(child) else { return nil }
        if let loop = path(from: child, to: parent) { return [parent] + loop }
        groups[parent]?.children.append(child)
        if groups[child]?.parents.contains(parent) == false { groups[child]?.parents.append(parent) }
        return nil
    }

    /// A path of child links from `start` to `goal`, both included.
    private func path(from start: String, to goal: String) -> [String]? {
        var previous: [String: String] = [:]
        var queue = [start]
        var seen: Set = [start]
        while !queue.isEmpty {
            let name = queue.removeFirst()
            if name == goal {
                var path = [goal]
                while let before = previous[path[0]] { path.insert(before, at: 0) }
                return path
            }
            for child in groups[name]?.children ?? [] where seen.insert(child).inserted {
                previous[child] = name
                queue.append(child)
            }
        }
        return nil
    }

    /// What Ansible does once every source is read: a group with no parent becomes a child of
    /// `all`; a host in no group but `all` goes to `ungrouped`, and leaves it once in another group.
    mutating func reconcile() {
        for name in groupOrder where name != "all" && (groups[name]?.parents.isEmpty ?? true) {
            _ = addChild("all", name)
        }
        var leaving = Set<String>()
        for name in hostOrder {
            let others = (directGroups[name] ?? []).filter { $0 != "all" && $0 != "ungrouped" }
            if others.isEmpty {
                join(name, "ungrouped")
            } else if directGroups[name]?.contains("ungrouped") == true {
                leaving.insert(name)
            }
        }
        if !leaving.isEmpty {
            groups["ungrouped"]?.hosts.removeAll { leaving.contains($0) }
            for name in leaving { directGroups[name]?.removeAll { $0 == "ungrouped" } }
        }
    }

    /// Every group a host is in, directly or through children (`all` included).
    func groups(of host: String) -> [String] {
        var found: [String] = []
        var queue = directGroups[host] ?? []
        while !queue.isEmpty {
            let name = queue.removeFirst()
            guard !found.contains(name) else { continue }
            found.append(name)
            queue += groups[name]?.parents ?? []
        }
        if !found.contains("all") { found.append("all") }
        return found
    }

    /// A group's depth: the longest path of child links from `all` to it (`all` is 0).
    func depths() -> [String: Int] {
        var depth: [String: Int] = ["all": 0]
        var queue = ["all"]
        var rounds = 0
        while !queue.isEmpty, rounds < 1_000_000 {
            rounds += 1
            let name = queue.removeFirst()
            for child in groups[name]?.children ?? [] where (depth[child] ?? -1) < (depth[name] ?? 0) + 1 {
                depth[child] = (depth[name] ?? 0) + 1
                queue.append(child)
            }
        }
        return depth
    }

    /// The hosts of a group in Ansible's order: its own, then its children's level by level.
    func hostsOf(_ group: String) -> [String] {
        GroupWalk.hosts(of: group, hosts: { groups[$0]?.hosts ?? [] }, children: { groups[$0]?.children ?? [] })
    }
}
