import System

extension Inventory {
    /// The hosts a pattern selects, in inventory order.
    ///
    /// Patterns are written as Ansible users expect: names, groups, `all`, globs (`web*`), unions
    /// (`web:db` or `web,db`), exclusions (`web:!web3`) and intersections (`web:&canary`).
    /// - Throws: a message naming the first part that matches no host or group.
    public func select(_ pattern: String) throws(HostPatternError) -> [InventoryHost] {
        let parts = pattern.split(whereSeparator: { $0 == ":" || $0 == "," })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw HostPatternError(part: pattern, message: "empty host pattern") }
        var included: Set<String>?
        var excluded = Set<String>()
        var intersections: [Set<String>] = []
        for part in parts {
            if part.hasPrefix("!") {
                excluded.formUnion(try names(matching: String(part.dropFirst())))
            } else if part.hasPrefix("&") {
                intersections.append(try names(matching: String(part.dropFirst())))
            } else {
                included = (included ?? []).union(try names(matching: part))
            }
        }
        var selected = included ?? Set(hosts.map(\.name))
        for set in intersections { selected.formIntersection(set) }
        selected.subtract(excluded)
        return hosts.filter { selected.contains($0.name) }
    }

    private func names(matching part: String) throws(HostPatternError) -> Set<String> {
        guard !part.isEmpty else { throw HostPatternError(part: part, message: "empty part in host pattern") }
        if part == "all" || part == "*" { return Set(hosts.map(\.name)) }
        if groups[part] != nil { return Set(members(of: part)) }
        if host(named: part) != nil { return [part] }
        if part.contains("*") || part.contains("?") {
            let matched = Set(hosts.map(\.name).filter { Self.glob(part, $0) })
                .union(groups.keys.filter { Self.glob(part, $0) }.flatMap { members(of: $0) })
            if matched.isEmpty { throw HostPatternError(part: part, message: "'\(part)' matches no host or group") }
            return matched
        }
        let suggestion = Suggestions.closest(to: part, in: hosts.map(\.name) + groups.keys.sorted())
        throw HostPatternError(
            part: part, message: "'\(part)' is not a host or group of this inventory",
            hint: suggestion.map { "did you mean '\($0)'?" })
    }

    static func glob(_ pattern: String, _ text: String) -> Bool { Glob.matches(pattern, text) }
}

/// A host pattern that selects nothing or names something unknown.
public struct HostPatternError: Error, Sendable, CustomStringConvertible {
    /// The part of the pattern at fault.
    public var part: String
    /// What is wrong.
    public var message: String
    /// A suggestion.
    public var hint: String?
    public var description: String { message + (hint.map { " (\($0))" } ?? "") }
}
