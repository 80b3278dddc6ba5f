import Foundation

/// A variable's value: what YAML vars, `--var`, host facts and registered results hold.
public indirect enum Value: Sendable, Hashable {
    /// A string.
    case string(String)
    /// An integer.
    case int(Int)
    /// A floating-point number.
    case double(Double)
    /// A boolean.
    case bool(Bool)
    /// A list.
    case list([Value])
    /// A map.
    case map([String: Value])
    /// YAML null.
    case null
    /// A secret: renders as its value in commands, as `••••` everywhere else.
    case secret(Secret)

    /// The text substituted into a template (`display` replaces secrets with `••••`).
    public func text(revealingSecrets: Bool) -> String {
        switch self {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .null: ""
        case .secret(let secret): revealingSecrets ? secret.revealForUse() : Value.redactionMark
        case .list(let items): items.map { $0.text(revealingSecrets: revealingSecrets) }.joined(separator: " ")
        case .map(let entries):
            entries.keys.sorted().map { "\($0)=\(entries[$0]?.text(revealingSecrets: revealingSecrets) ?? "")" }
                .joined(separator: " ")
        }
    }

    /// What secrets look like wherever they are shown.
    public static let redactionMark = "••••"

    /// Truthiness for `when:` and `until:`: false, 0, "", "false", "no", "0", null and empty collections are false.
    public var isTruthy: Bool {
        switch self {
        case .bool(let flag): flag
        case .int(let number): number != 0
        case .double(let number): number != 0
        case .null: false
        case .secret: true
        case .list(let items): !items.isEmpty
        case .map(let entries): !entries.isEmpty
        case .string(let text):
            !["", "false", "no", "0", "off"].contains(text.trimmingCharacters(in: .whitespaces).lowercased())
        }
    }

    /// Looks up a member of a map.
    public subscript(key: String) -> Value? {
        if case .map(let entries) = self { return entries[key] }
        return nil
    }

    /// The name of the value's type, for messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .int: "integer"
        case .double: "number"
        case .bool: "boolean"
        case .list: "list"
        case .map: "map"
        case .null: "null"
        case .secret: "secret"
        }
    }
}

extension Value {
    /// Parses a `--var key=value` value: integers and booleans become typed, everything else is a string.
    public static func fromCommandLine(_ text: String) -> Value {
        if let number = Int(text) { return .int(number) }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        return .string(text)
    }
}
