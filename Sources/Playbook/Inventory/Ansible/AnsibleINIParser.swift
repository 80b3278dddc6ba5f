/// Reads an Ansible INI inventory (`hosts` files) as Ansible's `ini` plugin does: `[group]`,
/// `[group:vars]` and `[group:children]` sections, host lines with ranges, `host:port` and
/// `key=value` variables (shell-quoted, typed as Python literals), `#` and `;` comments. Every
/// problem is a located diagnostic; reading goes on after one so that all are reported at once.
struct AnsibleINIParser {
    let file: String
    let text: String

    private struct Pending {
        var location: SourceLocation
        var vars: Bool
        var parents: [String]
    }

    /// Adds what the file declares to `inventory`.
    func parse(into inventory: inout AnsibleInventory, diagnostics: inout [PlaybookError]) {
        var group = "ungrouped"
        var state = "hosts"
        var pending: [String: Pending] = [:]
        func error(_ message: String, _ location: SourceLocation, hint: String? = nil) {
            diagnostics.append(PlaybookError(.invalidValue(message), at: location, keyPath: "", hint: hint))
        }
        func resolvePending(_ name: String) {
            guard let declared = pending.removeValue(forKey: name) else { return }
            for parent in declared.parents {
                if let loop = inventory.addChild(parent, name) {
                    error("groups form a cycle: \(loop.joined(separator: " → "))", declared.location)
                }
                if pending[parent]?.vars == false { resolvePending(parent) }
            }
        }
        // Lines end as Python's `splitlines` ends them (CRLF files included).
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let content = line.trimmingCharacters(in: .whitespaces)
            let location = SourceLocation(file: file, line: number + 1, column: indent + 1)
            guard let first = content.first, first != "#", first != ";" else { continue }
            if first == "[" {
                guard let (name, tag) = Self.section(content) else {
                    if content.hasSuffix("]") || content.contains("]") {
                        error(
                            "'\(content)' is not a section header: write [group], [group:vars] or [group:children], with no spaces",
                            location)
                    } else {
                        error("'\(content)': a section header opened with '[' is not closed with ']'", location)
                    }
                    // What follows belongs to no valid section: read it as hosts of a group no one sees.
                    group = "ungrouped"
                    state = "skip"
                    continue
                }
                state = tag ?? "hosts"
                group = name
                guard ["hosts", "children", "vars"].contains(state) else {
                    error(
                        "section [\(name):\(state)] has an unknown type '\(state)'", location,
                        hint: "the types are [\(name)], [\(name):vars] and [\(name):children]")
                    state = "skip"
                    continue
                }
                if inventory.groups[name] == nil {
                    if state == "vars", pending[name] == nil { pending[name] = Pending(location: location, vars: true, parents: []) }
                    inventory.addGroup(name, at: location)
                }
                if let declared = pending[name], state != "vars" {
                    if declared.vars { pending[name] = nil } else { resolvePending(name) }
                }
                continue
            }
            switch state {
            case "hosts":
                hostLine(content, location, group: group, into: &inventory, error: { error($0, $1, hint: $2) })
            case "vars":
                guard let equals = content.firstIndex(of: "=") else {
                    error("expected key=value in [\(group):vars], got '\(content)'", location)
                    continue
                }
                let key = content[..<equals].trimmingCharacters(in: .whitespaces)
                let value = content[content.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else {
                    error("expected key=value in [\(group):vars], got '\(content)'", location)
                    continue
                }
                if let problem = inventory.setGroupVariable(
                    group, key, AnsibleInventory.Variable(value: PythonLiteral.value(value), location: location, vault: Self.isVault(value)))
                {
                    error(problem, location)
                }
            case "children":
                let child = Self.groupName(content)
                guard let child else {
                    error("expected a group name in [\(group):children], got '\(content)'", location)
                    continue
                }
                if inventory.groups[child] == nil {
                    pending[child, default: Pending(location: location, vars: false, parents: [])].parents.append(group)
                    if pending[child]?.vars == true { pending[child]?.vars = false }
                } else if let loop = inventory.addChild(group, child) {
                    error("groups form a cycle: \(loop.joined(separator: " → "))", location, hint: "a group cannot be its own descendant")
                }
            default:
                continue
            }
        }
        for (name, declared) in pending.sorted(by: { $0.value.location.line < $1.value.location.line }) {
            if declared.vars {
                error("[\(name):vars] is for a group that is not defined anywhere in the file", declared.location,
                      hint: "define the group with a [\(name)] or [\(name):children] section")
            } else {
                error(
                    "[\(declared.parents.last ?? name):children] names '\(name)', a group that is not defined", declared.location,
                    hint: "define it with a [\(name)] section (it may be empty)")
            }
        }
    }

    /// `host[range][:port] key=value ...`.
    private func hostLine(
        _ content: String, _ location: SourceLocation, group: String, into inventory: inout AnsibleInventory,
        error report: (String, SourceLocation, String?) -> Void
    ) {
        let tokens: [ShellWords.Word]
        do {
            tokens = try ShellWords.split(content, comments: true)
        } catch {
            report("cannot read the host line: \(error)", location, nil)
            return
        }
        guard let pattern = tokens.first else { return }
        func at(_ word: ShellWords.Word) -> SourceLocation {
            SourceLocation(file: file, line: location.line, column: location.column + word.offset)
        }
        let names: [String]
        let port: Int?
        do {
            (names, port) = try Self.hostPattern(pattern.text)
        } catch {
            report(error.description, at(pattern), nil)
            return
        }
        var variables: [(String, AnsibleInventory.Variable)] = []
        for token in tokens.dropFirst() {
            guard let equals = token.text.firstIndex(of: "="), equals != token.text.startIndex else {
                report(
                    "expected key=value after the host name, got '\(token.text)'", at(token),
                    "quote a value with spaces: key=\"two words\"")
                return
            }
            let key = String(token.text[..<equals])
            let value = String(token.text[token.text.index(after: equals)...])
            variables.append((key, AnsibleInventory.Variable(value: PythonLiteral.value(value), location: at(token), vault: Self.isVault(value))))
        }
        for name in names {
            inventory.addHost(name, group: group, port: port, at: at(pattern))
            for (key, variable) in variables { inventory.setHostVariable(name, key, variable) }
        }
    }

    /// A host pattern's names (ranges expanded) and the port written after them.
    static func hostPattern(_ text: String) throws(HostRange.Failure) -> ([String], Int?) {
        var pattern = Substring(text)
        var port: Int?
        if pattern.hasPrefix("["), let close = pattern.lastIndex(of: "]"), pattern[close...].hasPrefix("]:"),
            let number = Int(pattern[pattern.index(close, offsetBy: 2)...])
        {
            // `[::1]:22` or `[web1]:22`.
            port = number
            pattern = pattern[pattern.index(after: pattern.startIndex)..<close]
        } else if let colon = pattern.lastIndex(of: ":") {
            // One colon outside the brackets: `host:port` (more than one is an IPv6 address).
            var depth = 0
            var colons = 0
            for character in pattern {
                if character == "[" { depth += 1 } else if character == "]" { depth -= 1 } else if character == ":", depth == 0 { colons += 1 }
            }
            let after = pattern[pattern.index(after: colon)...]
            if colons == 1 {
                guard let number = Int(after), !after.isEmpty, after.allSatisfy(\.isNumber) else {
                    throw HostRange.Failure(
                        description: after.isEmpty
                            ? "'\(text)' ends in ':', which is kept for a port (host:22)" : "'\(text)': '\(after)' is not a port number")
                }
                guard (1...65535).contains(number) else { throw HostRange.Failure(description: "'\(text)': port \(number) is out of range") }
                port = number
                pattern = pattern[..<colon]
            }
        }
        if pattern == "---" {
            throw HostRange.Failure(description: "'---' is not a host name: is this a YAML file? (YAML inventories start with all:)")
        }
        return (try HostRange.expand(String(pattern)), port)
    }

    /// `[name]` or `[name:tag]` (trailing spaces and a `#` comment allowed).
    static func section(_ line: String) -> (String, String?)? {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
        let after = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
        guard after.isEmpty || after.hasPrefix("#") else { return nil }
        let inside = line[line.index(after: line.startIndex)..<close]
        let parts = inside.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard !name.isEmpty, !name.contains(where: { $0.isWhitespace || $0 == "]" || $0 == "[" }) else { return nil }
        if parts.count == 2 {
            let tag = String(parts[1])
            guard !tag.isEmpty, tag.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            return (name, tag)
        }
        return (name, nil)
    }

    /// A line of a `:children` section: one group name (and maybe a comment).
    static func groupName(_ line: String) -> String? {
        let name = line.prefix { !$0.isWhitespace && $0 != "#" }
        let rest = line[name.endIndex...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains(":"), !name.contains("]"), rest.isEmpty || rest.hasPrefix("#") else { return nil }
        return String(name)
    }

    /// An Ansible Vault value written inline (`$ANSIBLE_VAULT;...`).
    static func isVault(_ value: String) -> Bool { value.trimmingCharacters(in: .whitespaces).hasPrefix("$ANSIBLE_VAULT;") }
}
