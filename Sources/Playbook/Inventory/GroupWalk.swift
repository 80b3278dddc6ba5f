/// A group's hosts in Ansible's order: the group's own, then its children's, level by level, each
/// host once (whatever the groups are kept in: golive's ``Inventory`` or an ``AnsibleInventory``).
enum GroupWalk {
    static func hosts(of group: String, hosts: (String) -> [String], children: (String) -> [String]) -> [String] {
        var ordered: [String] = []
        var seenHosts = Set<String>()
        var seenGroups: Set = [group]
        var level = [group]
        while !level.isEmpty {
            var next: [String] = []
            for name in level {
                for host in hosts(name) where seenHosts.insert(host).inserted { ordered.append(host) }
                for child in children(name) where seenGroups.insert(child).inserted { next.append(child) }
            }
            level = next
        }
        return ordered
    }
}
