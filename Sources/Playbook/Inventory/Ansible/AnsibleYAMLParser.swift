import Yams

/// Reads Ansible's YAML inventory shape (`all:` / groups with `hosts:`, `vars:`, `children:`)
/// and the YAML of `group_vars/` and `host_vars/` files, typing plain scalars as Ansible's YAML
/// library (YAML 1.1) does: `yes`/`on` are booleans, `0x1F` and `017` integers, `1.5` a float.
/// An Ansible Vault value (`!vault`) is kept as such, to be refused where it is used.
struct AnsibleYAMLParser {
    let reader: YAMLReader

    static let groupKeys = ["hosts", "vars", "children"]

    /// Adds the groups of a YAML inventory document to `inventory`.
    func parse(_ root: Node, into inventory: inout AnsibleInventory) {
        guard case .mapping = root else {
            reader.error(
                .wrongType(expected: "a map of groups (all:, with hosts:, vars: and children:), found \(reader.describe(root))"), root, "")
            return
        }
        guard let entries = reader.mapping(root, "") else { return }
        if let plugin = entries.first(where: { $0.key == "plugin" }) {
            reader.error(
                .invalidValue("this is the configuration of an inventory plugin, not an inventory: golive reads no plugins"),
                plugin.keyNode, "plugin",
                hint: "write the inventory out once with `ansible-inventory -i THIS --list -y > inventory.yml` and give golive that")
            return
        }
        for entry in entries { _ = group(entry.key, entry.keyNode, entry.value, path: entry.key, into: &inventory, depth: 0) }
    }

    /// Reads one group (recursively through `children:`); returns its name when it was read.
    private func group(_ name: String, _ keyNode: Node, _ node: Node, path: String, into inventory: inout AnsibleInventory, depth: Int)
        -> String?
    {
        guard depth < 64 else {
            reader.error(.invalidValue("groups are nested more than 64 deep"), keyNode, path)
            return nil
        }
        guard Self.validGroupName(name) else {
            reader.error(.invalidValue("'\(name)' cannot name a group (no spaces, ':', '[' or ']')"), keyNode, path)
            return nil
        }
        inventory.addGroup(name, at: reader.location(keyNode))
        if Self.isNull(node) { return name }
        guard let fields = reader.mapping(node, path, allowed: Self.groupKeys) else { return nil }
        for field in fields {
            let fieldPath = "\(path).\(field.key)"
            if Self.isNull(field.value) { continue }
            var members: [(key: String, keyNode: Node, value: Node)]
            if case .scalar(let scalar) = field.value, field.key != "vars" {
                // `hosts: web1` is `hosts: { web1: }`.
                members = [(scalar.string, field.value, Node.scalar(.init("")))]
            } else {
                guard let read = reader.mapping(field.value, fieldPath) else { continue }
                members = read
            }
            switch field.key {
            case "vars":
                for variable in members {
                    guard let typed = value(variable.value, "\(fieldPath).\(variable.key)") else { continue }
                    if let problem = inventory.setGroupVariable(
                        name, variable.key,
                        AnsibleInventory.Variable(value: typed.value, location: reader.location(variable.keyNode), vault: typed.vault))
                    {
                        reader.error(.invalidValue(problem), variable.value, "\(fieldPath).\(variable.key)")
                    }
                }
            case "children":
                for child in members {
                    let childPath = "\(fieldPath).\(child.key)"
                    guard let childName = group(child.key, child.keyNode, child.value, path: childPath, into: &inventory, depth: depth + 1)
                    else { continue }
                    if let loop = inventory.addChild(name, childName) {
                        reader.error(
                            .invalidValue("groups form a cycle: \(loop.joined(separator: " → "))"), child.keyNode, childPath,
                            hint: "a group cannot be its own descendant")
                    }
                }
            default:
                for host in members {
                    let hostPath = "\(fieldPath).\(host.key)"
                    if case .scalar(let key) = host.keyNode, key.style == .plain, case let typed = Self.plainValue(key.string),
                        typed != .string(key.string)
                    {
                        reader.error(
                            .invalidValue("host name '\(key.string)' is a \(typed.typeName) in YAML, not a name"), host.keyNode, hostPath,
                            hint: "quote it: \"\(key.string)\":")
                        continue
                    }
                    let names: [String]
                    let port: Int?
                    do {
                        (names, port) = try AnsibleINIParser.hostPattern(host.key)
                    } catch {
                        reader.error(.invalidValue(error.description), host.keyNode, hostPath)
                        continue
                    }
                    let location = reader.location(host.keyNode)
                    var variables: [(String, AnsibleInventory.Variable)] = []
                    if !Self.isNull(host.value), let settings = reader.mapping(host.value, hostPath) {
                        for variable in settings {
                            guard let typed = value(variable.value, "\(hostPath).\(variable.key)") else { continue }
                            variables.append(
                                (variable.key, AnsibleInventory.Variable(value: typed.value, location: reader.location(variable.keyNode), vault: typed.vault)))
                        }
                    }
                    for hostName in names {
                        inventory.addHost(hostName, group: name, port: port, at: location)
                        for (key, variable) in variables { inventory.setHostVariable(hostName, key, variable) }
                    }
                }
            }
        }
        return name
    }

    /// The variables of a `group_vars/` or `host_vars/` file (a map; an empty file has none).
    func variables(_ root: Node, path: String) -> [(String, AnsibleInventory.Variable)] {
        if Self.isNull(root) { return [] }
        guard let entries = reader.mapping(root, path) else { return [] }
        return entries.compactMap { entry in
            value(entry.value, entry.key).map {
                (entry.key, AnsibleInventory.Variable(value: $0.value, location: reader.location(entry.keyNode), vault: $0.vault))
            }
        }
    }

    /// A node's value as Ansible reads it, and whether a Vault value is in it.
    func value(_ node: Node, _ path: String) -> (value: Value, vault: Bool)? {
        switch node {
        case .scalar(let scalar):
            let tag = scalar.tag.description
            if tag == "!vault" || tag.hasSuffix("!vault") { return (.string(""), true) }
            if tag == "!unsafe" || tag.hasSuffix("!unsafe") { return (.string(scalar.string), false) }
            if scalar.style != .plain {
                // A quoted scalar is a string, unless a tag says otherwise (`!!int "12"`, `!!null ''`).
                switch tag {
                case Tag.Name.int.rawValue, Tag.Name.float.rawValue, Tag.Name.bool.rawValue:
                    let typed = Self.plainValue(scalar.string)
                    if case .string = typed {
                        reader.error(.invalidValue("'\(scalar.string)' is not a \(tag.split(separator: ":").last ?? "")"), node, path)
                        return nil
                    }
                    return (typed, false)
                case Tag.Name.null.rawValue: return (.null, false)
                case Tag.Name.binary.rawValue:
                    reader.error(.invalidValue("binary values (!!binary) are not read"), node, path)
                    return nil
                default: return (.string(scalar.string), false)
                }
            }
            if tag == Tag.Name.binary.rawValue {
                reader.error(.invalidValue("binary values (!!binary) are not read"), node, path)
                return nil
            }
            if scalar.string == "=" || scalar.string == "<<" {
                // YAML's value and merge keys, written as a value: Ansible's YAML library has no
                // constructor for them.
                reader.error(.invalidValue("'\(scalar.string)' cannot be a value here; quote it"), node, path)
                return nil
            }
            // `!!str 5`: a plain scalar tagged a string that would not resolve to one untagged.
            if tag == Tag.Name.str.rawValue, Resolver.default.resolveTag(of: .scalar(.init(scalar.string))) != .str {
                return (.string(scalar.string), false)
            }
            return (Self.plainValue(scalar.string), false)
        case .sequence(let sequence):
            var items: [Value] = []
            var vault = false
            for (index, item) in sequence.enumerated() {
                guard let typed = value(item, "\(path)[\(index)]") else { return nil }
                items.append(typed.value)
                vault = vault || typed.vault
            }
            return (.list(items), vault)
        case .mapping:
            guard let entries = reader.mapping(node, path) else { return nil }
            var map: [String: Value] = [:]
            var merged: [Value] = []
            var vault = false
            for entry in entries {
                guard let typed = value(entry.value, "\(path).\(entry.key)") else { return nil }
                vault = vault || typed.vault
                if entry.key == "<<", case .scalar(let key) = entry.keyNode, key.style == .plain {
                    // A merge key: the maps it names fill in what this one does not set, the first winning.
                    if case .list(let items) = typed.value { merged += items } else { merged.append(typed.value) }
                    continue
                }
                map[entry.key] = typed.value
            }
            for case .map(let entries) in merged {
                for (key, value) in entries where map[key] == nil { map[key] = value }
            }
            return (.map(map), vault)
        case .alias:
            reader.error(.syntax("unresolved alias"), node, path)
            return nil
        }
    }

    /// A plain scalar typed by YAML 1.1's rules, as Ansible's YAML library types it.
    static func plainValue(_ text: String) -> Value {
        if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
        if ["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"].contains(text) { return .bool(true) }
        if ["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"].contains(text) { return .bool(false) }
        var body = Substring(text)
        var negative = false
        if let sign = body.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            body = body.dropFirst()
        }
        let digits = body.filter { $0 != "_" }
        func signed(_ number: Int?) -> Value? { number.map { .int(negative ? -$0 : $0) } }
        if let first = body.first, first.isASCII, first.isNumber || first == "." {
            if body.hasPrefix("0b"), let number = signed(Int(digits.dropFirst(2), radix: 2)) { return number }
            if body.hasPrefix("0x"), let number = signed(Int(digits.dropFirst(2), radix: 16)) { return number }
            if digits.count > 1, digits.hasPrefix("0"), digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                // `017` is octal; `08` is no number at all in YAML 1.1 (a string, as a ZIP code stays).
                return signed(Int(digits, radix: 8)) ?? .string(text)
            }
            if digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = signed(Int(digits)) { return number }
            if body.contains(":"), !body.hasPrefix("0"), let last = body.split(separator: ":").last, last.contains("."),
                body.split(separator: ":").dropLast().allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }),
                let fraction = Double(last.filter { $0 != "_" }), !last.hasPrefix(".")
            {
                // Sexagesimal float: 190:20:30.15.
                let whole = body.split(separator: ":").dropLast().compactMap { Double($0.filter { $0 != "_" }) }
                let value = whole.reduce(0) { $0 * 60 + $1 } * 60 + fraction
                return .double(negative ? -value : value)
            }
            if body.contains(":"), !body.hasPrefix("0"), body.split(separator: ":").allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
                // Sexagesimal: 1:30 is 90.
                let parts = body.split(separator: ":").compactMap { Int($0.filter { $0 != "_" }) }
                if parts.dropFirst().allSatisfy({ $0 < 60 }) { return .int((negative ? -1 : 1) * parts.reduce(0) { $0 * 60 + $1 }) }
            }
            // A float needs a dot; `1e3` is a string in YAML 1.1.
            if digits.contains("."), isFloat(digits), let number = Double(digits) { return .double(negative ? -number : number) }
        }
        return .string(text)
    }

    private static func isFloat(_ text: String) -> Bool {
        var mantissa = Substring(text)
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            let exponent = text[text.index(after: e)...]
            guard let sign = exponent.first, sign == "+" || sign == "-", exponent.count > 1, exponent.dropFirst().allSatisfy(\.isNumber) else { return false }
            mantissa = text[..<e]
        }
        return mantissa.filter { $0 == "." }.count == 1 && mantissa.allSatisfy { $0 == "." || ($0.isASCII && $0.isNumber) }
    }

    static func isNull(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return true }
        return false
    }

    static func validGroupName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains(where: { $0.isWhitespace || $0 == ":" || $0 == "[" || $0 == "]" })
    }
}
