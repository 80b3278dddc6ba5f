import Foundation
import System

extension Inventory {
    /// The hosts a pattern selects: in inventory order for golive's own inventories, in the order
    /// Ansible gives them for Ansible's (each part's hosts in turn, a group's own before its
    /// children's), which is the order batches roll in.
    ///
    /// Patterns are Ansible's: names, groups, `all`, globs (`web*`, `db[12]`), regular expressions
    /// (`~web0[1-3]`, matched from the start of the name), subscripts of a group's hosts
    /// (`web[0]`, `web[-1]`, `web[0:2]` inclusive, `web[1:]`), unions (`web:db` or `web,db`),
    /// exclusions (`web:!web3`) and intersections (`web:&canary`); unions first, then
    /// intersections, then exclusions, whatever the order written.
    /// - Throws: a message naming the first part that matches no host or group.
    public func select(_ pattern: String) throws(HostPatternError) -> [InventoryHost] {
        let parts = Self.splitPattern(pattern)
        guard !parts.isEmpty else { throw HostPatternError(part: pattern, message: "empty host pattern") }
        var included: [String]?
        var excluded = Set<String>()
        var intersections: [Set<String>] = []
        for part in parts {
            if part.hasPrefix("!") {
                excluded.formUnion(try names(matching: String(part.dropFirst())))
            } else if part.hasPrefix("&") {
                intersections.append(Set(try names(matching: String(part.dropFirst()))))
            } else {
                var list = included ?? []
                var seen = Set(list)
                for name in try names(matching: part) where seen.insert(name).inserted { list.append(name) }
                included = list
            }
        }
        var selected = (included ?? hosts.map(\.name)).filter { name in !excluded.contains(name) && intersections.allSatisfy { $0.contains(name) } }
        let order = Dictionary(hosts.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        if format == .golive { selected.sort { (order[$0] ?? 0) < (order[$1] ?? 0) } }
        return selected.compactMap { order[$0].map { hosts[$0] } }
    }

    /// A pattern's parts, as Ansible splits them: at commas when there is one, else at colons
    /// outside `[...]`.
    static func splitPattern(_ pattern: String) -> [String] {
        var parts: [String] = []
        if pattern.contains(",") {
            parts = pattern.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        } else {
            var current = ""
            var depth = 0
            for character in pattern {
                if character == "[" { depth += 1 } else if character == "]" { depth = max(0, depth - 1) }
                if character == ":", depth == 0 {
                    parts.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
            }
            parts.append(current)
        }
        return parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private func names(matching written: String) throws(HostPatternError) -> [String] {
        guard !written.isEmpty else { throw HostPatternError(part: written, message: "empty part in host pattern") }
        if written == "all" || written == "*" { return hosts.map(\.name) }
        if groups[written] != nil { return orderedMembers(of: written) }
        if written == "ungrouped" {
            // Ansible's group of the hosts in no other group, there even when empty.
            let alone = hosts.filter(\.groups.isEmpty).map(\.name)
            if alone.isEmpty { throw HostPatternError(part: written, message: "'ungrouped' has no host: every host is in a group") }
            return alone
        }
        if host(named: written) != nil { return [written] }
        let (part, slice) = try Self.subscripted(written)
        var matched: [String] = []
        if part == "all" || part == "*" {
            matched = hosts.map(\.name)
        } else if part.hasPrefix("~") {
            let expression: NSRegularExpression
            do {
                expression = try NSRegularExpression(pattern: String(part.dropFirst()))
            } catch {
                throw HostPatternError(part: written, message: "'\(written)': '\(part.dropFirst())' is not a regular expression")
            }
            func search(_ name: String) -> Bool {
                expression.firstMatch(in: name, options: .anchored, range: NSRange(name.startIndex..., in: name)) != nil
            }
            matched = matchingGroups(search).flatMap { orderedMembers(of: $0) } + definedHosts.filter(search)
        } else if groups[part] != nil {
            matched = orderedMembers(of: part)
        } else if host(named: part) != nil {
            matched = [part]
        } else if part.contains(where: { "*?[".contains($0) }) {
            matched = matchingGroups { Self.glob(part, $0) }.flatMap { orderedMembers(of: $0) }
                + definedHosts.filter { Self.glob(part, $0) }
        }
        // As Ansible: the position counts in the matches as listed, a host under two matching
        // groups twice (the union drops the repeat afterwards).
        if let slice { matched = slice.apply(to: matched) }
        if matched.isEmpty {
            if slice != nil || part.hasPrefix("~") || part.contains(where: { "*?[".contains($0) }) {
                throw HostPatternError(part: written, message: "'\(written)' matches no host or group")
            }
            let suggestion = Suggestions.closest(to: written, in: hosts.map(\.name) + groups.keys.sorted())
            throw HostPatternError(
                part: written, message: "'\(written)' is not a host or group of this inventory",
                hint: suggestion.map { "did you mean '\($0)'?" })
        }
        return matched
    }

    /// The host names in definition order, as wildcards and regular expressions meet them.
    private var definedHosts: [String] { hostDefinitionOrder.isEmpty ? hosts.map(\.name) : hostDefinitionOrder }

    /// The groups whose names `matches` accepts, in definition order; for an Ansible inventory
    /// `all` first, as Ansible lists its groups (matching it means every host, in Ansible's order).
    private func matchingGroups(_ matches: (String) -> Bool) -> [String] {
        (format == .ansible && matches("all") ? ["all"] : []) + orderedGroupNames.filter(matches)
    }

    /// A group's hosts in Ansible's order: its own, then its children's, level by level.
    public func orderedMembers(of group: String) -> [String] {
        if group == "all", groups["all"] == nil { return hosts.map(\.name) }
        return GroupWalk.hosts(of: group, hosts: { groups[$0]?.hosts ?? [] }, children: { groups[$0]?.children ?? [] })
    }

    /// `[i]`, `[-i]`, `[a:b]` (inclusive) or `[a:]` at the end of a pattern.
    struct Subscript {
        var start: Int
        var end: Int?
        var range: Bool

        func apply(to names: [String]) -> [String] {
            if !range {
                let index = start < 0 ? names.count + start : start
                return names.indices.contains(index) ? [names[index]] : []
            }
            let last = min(end ?? names.count - 1, names.count - 1)
            guard start <= last, start < names.count else { return [] }
            return Array(names[start...last])
        }
    }

    static func subscripted(_ part: String) throws(HostPatternError) -> (String, Subscript?) {
        guard !part.hasPrefix("~"), part.hasSuffix("]"), let open = part.lastIndex(of: "["), open != part.startIndex else {
            return (part, nil)
        }
        let inside = part[part.index(after: open)..<part.index(before: part.endIndex)]
        let base = String(part[..<open])
        if let index = Int(inside) { return (base, Subscript(start: index, end: nil, range: false)) }
        // `[a-b]` and `[a-]` are Ansible's older spelling of `[a:b]` and `[a:]` (digits only; `[ab]`
        // and `[!a]` stay wildcards).
        let separator: Character = inside.contains(":") ? ":" : "-"
        if separator == "-", !(inside.first?.isNumber ?? false) { return (part, nil) }
        let bounds = inside.split(separator: separator, maxSplits: 1, omittingEmptySubsequences: false)
        guard bounds.count == 2, let start = Int(bounds[0].trimmingCharacters(in: .whitespaces)), start >= 0 else {
            // `db[12]`-style character classes are globs, not subscripts.
            return (part, nil)
        }
        let endText = bounds[1].trimmingCharacters(in: .whitespaces)
        if endText.isEmpty { return (base, Subscript(start: start, end: nil, range: true)) }
        guard let end = Int(endText), end >= 0 else {
            throw HostPatternError(part: part, message: "'\(part)': a subscript is [i], [-i], [a:b] or [a:]")
        }
        return (base, Subscript(start: start, end: end, range: true))
    }

    /// Ansible's (fnmatch's) wildcards over a whole name: `*`, `?`, `[abc]`, `[!abc]`, `[a-z]`.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        guard pattern.contains("[") else { return Glob.matches(pattern, text) }
        var expression = "^"
        var characters = Array(pattern)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*": expression += ".*"
            case "?": expression += "."
            case "[":
                guard let close = characters.dropFirst().firstIndex(of: "]") else {
                    expression += "\\["
                    continue
                }
                var set = String(characters[characters.startIndex..<close])
                characters = characters[(close + 1)...]
                if set.hasPrefix("!") { set = "^" + set.dropFirst() }
                expression += "[" + set.replacingOccurrences(of: "\\", with: "\\\\") + "]"
            default: expression += NSRegularExpression.escapedPattern(for: String(character))
            }
        }
        guard let compiled = try? NSRegularExpression(pattern: expression + "$") else { return false }
        return compiled.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
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
