import Foundation
import System

/// A string with `{{ expression }}` placeholders, parsed when the file is loaded.
///
/// In commands (`shell`, `rollback`, `command`, `local`) every substituted value is shell-quoted
/// unless the expression ends in `| raw`; elsewhere values are inserted as they are.
public struct Template: Sendable, Hashable, CustomStringConvertible {
    enum Segment: Sendable, Hashable {
        case text(String)
        case expression(TemplateExpression, SourceLocation)
    }

    /// How substituted values are inserted.
    public enum Quoting: Sendable {
        /// Each value becomes one shell word (unless `| raw`).
        case shell
        /// Values are inserted as they are.
        case plain
    }

    /// The text as written.
    public let source: String
    /// Where the text starts.
    public let location: SourceLocation
    let segments: [Segment]
    /// Where each placeholder stands when the text is a shell command, in order.
    let shell: [ShellSyntax.Found]

    /// The text as written.
    public var description: String { source }

    /// True when the text holds no placeholder.
    public var isLiteral: Bool { segments.allSatisfy { if case .text = $0 { true } else { false } } }

    /// Parses `source`; `locate` turns an offset into the source into a file position.
    init(_ source: String, at location: SourceLocation, locate: @escaping @Sendable (Int) -> SourceLocation)
        throws(PlaybookError)
    {
        self.source = source
        self.location = location
        var segments: [Segment] = []
        let characters = Array(source)
        var index = 0
        var text = ""
        while index < characters.count {
            if characters[index] == "{", index + 1 < characters.count, characters[index + 1] == "{" {
                let start = index + 2
                var end = start
                while end + 1 < characters.count && !(characters[end] == "}" && characters[end + 1] == "}") { end += 1 }
                guard end + 1 < characters.count else {
                    throw PlaybookError(
                        .invalidValue("unterminated '{{' (missing '}}')"), at: locate(index), keyPath: "")
                }
                if !text.isEmpty { segments.append(.text(text)) }
                text = ""
                let inner = String(characters[start..<end])
                do {
                    var parser = try TemplateExpressionParser(
                        inner, locate: { _, offset in locate(start + offset) }, origin: locate(start))
                    segments.append(.expression(try parser.parse(), locate(index)))
                } catch {
                    throw PlaybookError(.invalidValue("in template: \(error.message)"), at: locate(start + error.offset), keyPath: "")
                }
                index = end + 2
            } else {
                text.append(characters[index])
                index += 1
            }
        }
        if !text.isEmpty { segments.append(.text(text)) }
        self.segments = segments
        shell = Self.placements(segments)
    }

    static func placements(_ segments: [Segment]) -> [ShellSyntax.Found] {
        ShellSyntax.analyze(
            segments.map { segment in
                if case .text(let text) = segment { return text }
                return nil
            })
    }

    /// Parses the bytes of a template file (a `template:` step's source): read as ``SourceText``
    /// (UTF-8, a byte-order mark dropped), then as a template; every error located in the file.
    public static func parse(fileData data: Data, file: String) throws(PlaybookError) -> Template {
        try parse(fileText: SourceText.decode(data, file: file).get(), file: file)
    }

    /// Parses a whole template file (for `template:` steps); errors point into that file.
    public static func parse(fileText text: String, file: String) throws(PlaybookError) -> Template {
        try Template(text, at: SourceLocation(file: file, line: 1, column: 1)) { offset in
            let prefix = text.prefix(offset)
            let line = prefix.filter { $0 == "\n" }.count + 1
            let lineStart = prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0
            return SourceLocation(file: file, line: line, column: prefix.count - lineStart + 1)
        }
    }

    /// A template holding literal text only (no placeholders are parsed).
    public init(literal: String, at location: SourceLocation = .commandLine("literal")) {
        source = literal
        self.location = location
        segments = literal.isEmpty ? [] : [.text(literal)]
        shell = []
    }

    /// Parses a bare expression, as written in `when:` (no braces needed; braces are accepted).
    static func condition(_ source: String, at location: SourceLocation, locate: @escaping @Sendable (Int) -> SourceLocation)
        throws(PlaybookError) -> Template
    {
        let trimmed = source.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("{{") { return try Template(source, at: location, locate: locate) }
        return try Template("{{" + source + "}}", at: location, locate: { locate(max(0, $0 - 2)) })
    }

    /// Every variable path used, with its location (`optional` when under `default(...)`).
    public var references: [(path: [String], location: SourceLocation, optional: Bool)] {
        segments.flatMap { segment -> [(path: [String], location: SourceLocation, optional: Bool)] in
            if case .expression(let expression, _) = segment { return expression.references() }
            return []
        }
    }

    /// Renders the template.
    ///
    /// - Returns: the text to use (secrets revealed) and the text to show (secrets as `••••`).
    /// - Throws: ``TemplateError`` for an undefined variable or a type problem.
    public func render(_ context: TemplateContext, quoting: Quoting) throws(TemplateError) -> RenderedText {
        var text = ""
        var display = ""
        var secrets: [String] = []
        var placeholder = 0
        for segment in segments {
            switch segment {
            case .text(let literal):
                text += literal
                display += literal
            case .expression(let expression, let location):
                let result = try Self.evaluate(expression, context, at: location)
                let found = placeholder < shell.count ? shell[placeholder] : nil
                placeholder += 1
                secrets += result.value.secretValues
                let plain = result.value.text(revealingSecrets: true)
                let shown = result.value.text(revealingSecrets: false)
                if result.raw {
                    text += plain
                    display += shown
                } else if quoting == .shell {
                    // Quoted for where it stands, whatever filters came before (`quote` included).
                    let placement = found?.placement ?? .bare
                    guard let quoted = placement.quote(plain), let quotedShown = placement.quote(shown) else {
                        throw TemplateError(message: "cannot be quoted here: \(placement.refusal(of: plain))", location: location)
                    }
                    text += quoted
                    display += quotedShown
                } else if result.quoted {
                    // `| quote` outside a shell command: one shell word, as the last transformation.
                    text += ShellQuote.quote(plain)
                    display += ShellQuote.quote(shown)
                } else {
                    text += plain
                    display += shown
                }
            }
        }
        return RenderedText(text: text, display: display, secrets: secrets)
    }

    /// What `validate` says about this text as a shell command: placeholders no quoting can make
    /// safe (errors), and those whose value a second shell parses again or that are `| raw`
    /// (warnings), each with its location.
    public var shellDiagnostics: [(location: SourceLocation, message: String, isError: Bool)] {
        var out: [(location: SourceLocation, message: String, isError: Bool)] = []
        var index = 0
        for segment in segments {
            guard case .expression(let expression, let location) = segment else { continue }
            let found = index < shell.count ? shell[index] : nil
            index += 1
            let raw = Self.isRaw(expression)
            if case .unsafe(let why)? = found?.placement, !raw {
                out.append((location, why, true))
            }
            if raw {
                out.append((location, "`| raw` inserts the value unquoted into the shell command: what it holds is run as shell code", false))
            } else if found?.secondShell == true {
                out.append(
                    (location,
                     "the value is quoted for this shell, but a second shell (sh -c, su -c, ssh, eval) parses the text again: quote it for that shell too, or pass it as an argument or in the environment",
                     false))
            }
        }
        return out
    }

    static func isRaw(_ expression: TemplateExpression) -> Bool {
        if case .filtered(_, let filters) = expression { return filters.contains(.raw) }
        return false
    }

    /// Evaluates the template as a condition (`when:`, `until:`).
    public func evaluateCondition(_ context: TemplateContext) throws(TemplateError) -> Bool {
        if segments.count == 1, case .expression(let expression, let location) = segments[0] {
            return try Self.evaluate(expression, context, at: location).value.isTruthy
        }
        return Value.string(try render(context, quoting: .plain).text).isTruthy
    }

    struct Evaluated {
        var value: Value
        var raw = false
        var quoted = false
    }

    static func evaluate(_ expression: TemplateExpression, _ context: TemplateContext, at location: SourceLocation)
        throws(TemplateError) -> Evaluated
    {
        switch expression {
        case .literal(let value):
            return Evaluated(value: value)
        case .path(let path, let where_):
            return Evaluated(value: try context.lookup(path, at: where_))
        case .filtered(let inner, let filters):
            var result: Evaluated
            do {
                result = try evaluate(inner, context, at: location)
            } catch {
                guard case .defaultValue(let fallback) = filters.first else { throw error }
                result = Evaluated(value: fallback)
            }
            for filter in filters {
                switch filter {
                case .defaultValue(let fallback):
                    if case .null = result.value { result.value = fallback }
                    if case .string("") = result.value { result.value = fallback }
                case .raw: result.raw = true
                case .quote:
                    // Applied last, when the value is placed (see `render`): later filters see the plain value.
                    result.quoted = true
                case .upper: result.value = result.value.mapText { $0.uppercased() }
                case .lower: result.value = result.value.mapText { $0.lowercased() }
                case .trim: result.value = result.value.mapText { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                case .basename:
                    result.value = result.value.mapText { text in
                        let trimmed = text.hasSuffix("/") && text.count > 1 ? String(text.dropLast()) : text
                        return trimmed.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? trimmed
                    }
                case .dirname:
                    result.value = result.value.mapText { text in
                        guard let slash = text.lastIndex(of: "/") else { return "." }
                        return slash == text.startIndex ? "/" : String(text[..<slash])
                    }
                }
            }
            return result
        case .not(let inner):
            return Evaluated(value: .bool(!(try evaluate(inner, context, at: location).value.isTruthy)))
        case .and(let left, let right):
            guard try evaluate(left, context, at: location).value.isTruthy else { return Evaluated(value: .bool(false)) }
            return Evaluated(value: .bool(try evaluate(right, context, at: location).value.isTruthy))
        case .or(let left, let right):
            if try evaluate(left, context, at: location).value.isTruthy { return Evaluated(value: .bool(true)) }
            return Evaluated(value: .bool(try evaluate(right, context, at: location).value.isTruthy))
        case .compare(let left, let op, let right):
            let a = try evaluate(left, context, at: location).value
            let b = try evaluate(right, context, at: location).value
            return Evaluated(value: .bool(compare(a, op, b)))
        }
    }

    static func compare(_ a: Value, _ op: String, _ b: Value) -> Bool {
        if op == "in" {
            switch b {
            case .list(let items): return items.contains { $0.text(revealingSecrets: true) == a.text(revealingSecrets: true) }
            case .map(let entries): return entries[a.text(revealingSecrets: true)] != nil
            default: return b.text(revealingSecrets: true).contains(a.text(revealingSecrets: true))
            }
        }
        let left = a.text(revealingSecrets: true).trimmingCharacters(in: .whitespacesAndNewlines)
        let right = b.text(revealingSecrets: true).trimmingCharacters(in: .whitespacesAndNewlines)
        if let x = Double(left), let y = Double(right) {
            switch op {
            case "==": return x == y
            case "!=": return x != y
            case "<": return x < y
            case ">": return x > y
            case "<=": return x <= y
            default: return x >= y
            }
        }
        switch op {
        case "==": return left == right
        case "!=": return left != right
        case "<": return left < right
        case ">": return left > right
        case "<=": return left <= right
        default: return left >= right
        }
    }
}

/// A rendered template.
public struct RenderedText: Sendable, Hashable {
    /// The text to use: secrets revealed. Never log or store it.
    public var text: String
    /// The text to show and store: secrets as `••••`.
    public var display: String
    /// The plain values of the secrets that went into `text`, for redacting output.
    public var secrets: [String]

    /// Creates a rendered text.
    public init(text: String, display: String, secrets: [String]) {
        self.text = text
        self.display = display
        self.secrets = secrets
    }
}

/// A template that could not be rendered.
public struct TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The missing variable's path, or the problem.
    public var message: String
    /// Where the expression is.
    public var location: SourceLocation
    public var description: String { "\(location): \(message)" }
}

/// The variables a template can see.
public struct TemplateContext: Sendable {
    /// Top-level names: vars, `host`, `run`, registered results.
    public var variables: [String: Value]

    /// Creates a context.
    public init(variables: [String: Value]) { self.variables = variables }

    /// The value at a variable path (`previous.stdout`).
    ///
    /// - Throws: ``TemplateError`` naming the path when it is not defined.
    public func lookup(_ path: [String], at location: SourceLocation) throws(TemplateError) -> Value {
        guard let first = path.first, var value = variables[first] else {
            let name = path.first ?? ""
            let hint =
                Validator.foreignNames[name].map { " (\($0))" }
                ?? Suggestions.closest(to: name, in: Array(variables.keys)).map { " (did you mean '\($0)'?)" } ?? ""
            throw TemplateError(message: "'\(path.joined(separator: "."))'\(hint)", location: location)
        }
        for (index, key) in path.dropFirst().enumerated() {
            guard case .map(let entries) = value, let next = entries[key] else {
                let prefix = path.prefix(index + 1).joined(separator: ".")
                var hint = ""
                if case .map(let entries) = value,
                    let close = Suggestions.closest(to: key, in: Array(entries.keys))
                {
                    hint = " (did you mean '\(prefix).\(close)'?)"
                } else if case .map = value {
                    hint = ""
                } else {
                    hint = " ('\(prefix)' is a \(value.typeName), not a map)"
                }
                throw TemplateError(message: "'\(path.joined(separator: "."))'\(hint)", location: location)
            }
            value = next
        }
        return value
    }
}

extension Value {
    fileprivate func mapText(_ transform: (String) -> String) -> Value {
        if case .secret(let secret) = self { return .secret(Secret(transform(secret.revealForUse()))) }
        return .string(transform(text(revealingSecrets: true)))
    }

    /// Plain values of every secret inside this value.
    var secretValues: [String] {
        switch self {
        case .secret(let secret): [secret.revealForUse()]
        case .list(let items): items.flatMap(\.secretValues)
        case .map(let entries): entries.values.flatMap(\.secretValues)
        default: []
        }
    }
}
