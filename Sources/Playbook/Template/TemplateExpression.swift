/// The expression inside `{{ }}` (and in `when:` / `until:`): variable paths, literals, filters,
/// comparisons and `not`/`and`/`or`.
indirect enum TemplateExpression: Sendable, Hashable {
    case path([String], SourceLocation)
    case literal(Value)
    case filtered(TemplateExpression, [TemplateFilter])
    case compare(TemplateExpression, String, TemplateExpression)
    case not(TemplateExpression)
    case and(TemplateExpression, TemplateExpression)
    case or(TemplateExpression, TemplateExpression)

    /// Every variable path used, with where it is (paths under `default(...)` count as optional).
    func references(optional: Bool = false) -> [(path: [String], location: SourceLocation, optional: Bool)] {
        switch self {
        case .path(let path, let location): [(path, location, optional)]
        case .literal: []
        case .filtered(let inner, let filters):
            inner.references(optional: optional || filters.contains { if case .defaultValue = $0 { true } else { false } })
        case .compare(let left, _, let right), .and(let left, let right), .or(let left, let right):
            left.references(optional: optional) + right.references(optional: optional)
        case .not(let inner): inner.references(optional: optional)
        }
    }
}

/// A filter applied with `|`.
enum TemplateFilter: Sendable, Hashable {
    case defaultValue(Value)
    case quote, raw, upper, lower, basename, dirname, trim
    /// Lists: `join(", ")`, `length`, `first`, `last`, `sort`, `unique`, `map(attribute="name")`.
    case join(String)
    case length, first, last, sort, unique
    case map(String)

    static let names = [
        "default", "quote", "raw", "upper", "lower", "basename", "dirname", "trim", "join", "length", "first", "last", "sort", "unique",
        "map",
    ]
}

/// Parses the text of one expression.
struct TemplateExpressionParser {
    enum Token: Equatable {
        case identifier(String)
        case string(String)
        case number(String)
        case symbol(String)
    }

    private var tokens: [(token: Token, offset: Int)] = []
    private var position = 0
    private var depth = 0
    /// The most tokens one expression may have, and the deepest it may nest (`not`, parentheses):
    /// deeper input is refused with its location instead of exhausting the stack.
    static let maximumTokens = 1000
    static let maximumDepth = 64
    private let base: (SourceLocation, Int) -> SourceLocation
    private let text: String

    /// `locate` maps an offset in `text` to a source location.
    init(_ text: String, locate: @escaping (SourceLocation, Int) -> SourceLocation, origin: SourceLocation) throws(TemplateSyntaxError) {
        self.text = text
        self.base = locate
        self.origin = origin
        tokens = try Self.tokenize(text)
        if tokens.count > Self.maximumTokens {
            throw TemplateSyntaxError(
                message: "expression too long (\(tokens.count) tokens; at most \(Self.maximumTokens))", offset: tokens[Self.maximumTokens].offset)
        }
    }

    private mutating func deeper(at offset: Int) throws(TemplateSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw TemplateSyntaxError(message: "expression nested too deeply (more than \(Self.maximumDepth) levels)", offset: offset)
        }
    }

    private let origin: SourceLocation

    mutating func parse() throws(TemplateSyntaxError) -> TemplateExpression {
        guard !tokens.isEmpty else { throw TemplateSyntaxError(message: "empty expression", offset: 0) }
        let expression = try parseOr()
        if position < tokens.count {
            throw TemplateSyntaxError(message: "unexpected '\(describe(tokens[position].token))'", offset: tokens[position].offset)
        }
        return expression
    }

    private func describe(_ token: Token) -> String {
        switch token {
        case .identifier(let text), .number(let text), .symbol(let text): text
        case .string(let text): "\"\(text)\""
        }
    }

    private mutating func parseOr() throws(TemplateSyntaxError) -> TemplateExpression {
        var left = try parseAnd()
        while peek() == .identifier("or") {
            position += 1
            left = .or(left, try parseAnd())
        }
        return left
    }

    private mutating func parseAnd() throws(TemplateSyntaxError) -> TemplateExpression {
        var left = try parseNot()
        while peek() == .identifier("and") {
            position += 1
            left = .and(left, try parseNot())
        }
        return left
    }

    private mutating func parseNot() throws(TemplateSyntaxError) -> TemplateExpression {
        if peek() == .identifier("not") {
            try deeper(at: tokens[position].offset)
            position += 1
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(TemplateSyntaxError) -> TemplateExpression {
        let left = try parseFiltered()
        if case .symbol(let op) = peek(), ["==", "!=", "<", ">", "<=", ">="].contains(op) {
            position += 1
            return .compare(left, op, try parseFiltered())
        }
        if peek() == .identifier("in") {
            position += 1
            return .compare(left, "in", try parseFiltered())
        }
        return left
    }

    private mutating func parseFiltered() throws(TemplateSyntaxError) -> TemplateExpression {
        let inner = try parsePrimary()
        var filters: [TemplateFilter] = []
        while peek() == .symbol("|") {
            position += 1
            guard position < tokens.count, case .identifier(let name) = tokens[position].token else {
                throw TemplateSyntaxError(message: "expected a filter name after '|'", offset: offsetHere())
            }
            let nameOffset = tokens[position].offset
            position += 1
            switch name {
            case "default":
                var value = Value.string("")
                if peek() == .symbol("(") {
                    position += 1
                    if peek() != .symbol(")") { value = try parseLiteral() }
                    try expect(")")
                }
                filters.append(.defaultValue(value))
            case "quote": filters.append(.quote)
            case "raw": filters.append(.raw)
            case "upper": filters.append(.upper)
            case "lower": filters.append(.lower)
            case "basename": filters.append(.basename)
            case "dirname": filters.append(.dirname)
            case "trim": filters.append(.trim)
            case "length": filters.append(.length)
            case "first": filters.append(.first)
            case "last": filters.append(.last)
            case "sort": filters.append(.sort)
            case "unique": filters.append(.unique)
            case "join":
                var separator = ""
                if peek() == .symbol("(") {
                    position += 1
                    if peek() != .symbol(")") { separator = try parseLiteral().text(revealingSecrets: true) }
                    try expect(")")
                }
                filters.append(.join(separator))
            case "map":
                // `map(attribute="name")`, as in Jinja, or `map("name")`.
                try expect("(")
                if peek() == .identifier("attribute") {
                    position += 1
                    try expect("=")
                }
                guard position < tokens.count, case .string(let attribute) = tokens[position].token, !attribute.isEmpty else {
                    throw TemplateSyntaxError(message: "map needs the attribute to take: map(attribute=\"name\")", offset: offsetHere())
                }
                position += 1
                try expect(")")
                filters.append(.map(attribute))
            default:
                let suggestion = Suggestions.closest(to: name, in: TemplateFilter.names)
                throw TemplateSyntaxError(
                    message: "unknown filter '\(name)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
                        + "; filters are \(TemplateFilter.names.joined(separator: ", "))",
                    offset: nameOffset)
            }
        }
        return filters.isEmpty ? inner : .filtered(inner, filters)
    }

    private mutating func parsePrimary() throws(TemplateSyntaxError) -> TemplateExpression {
        guard position < tokens.count else {
            throw TemplateSyntaxError(message: "expression ends too early", offset: text.count)
        }
        let (token, offset) = tokens[position]
        switch token {
        case .symbol("("):
            try deeper(at: offset)
            position += 1
            let inner = try parseOr()
            try expect(")")
            depth -= 1
            return inner
        case .identifier(let name) where name == "true" || name == "false":
            position += 1
            return .literal(.bool(name == "true"))
        case .identifier(let name):
            position += 1
            let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parts.contains(where: \.isEmpty) {
                throw TemplateSyntaxError(message: "malformed variable path '\(name)'", offset: offset)
            }
            return .path(parts, base(origin, offset))
        case .string, .number:
            return .literal(try parseLiteral())
        case .symbol(let symbol):
            throw TemplateSyntaxError(message: "unexpected '\(symbol)'", offset: offset)
        }
    }

    private mutating func parseLiteral() throws(TemplateSyntaxError) -> Value {
        guard position < tokens.count else { throw TemplateSyntaxError(message: "expected a value", offset: text.count) }
        let (token, offset) = tokens[position]
        position += 1
        switch token {
        case .string(let text): return .string(text)
        case .number(let text):
            if let number = Int(text) { return .int(number) }
            if let number = Double(text) { return .double(number) }
            throw TemplateSyntaxError(message: "bad number '\(text)'", offset: offset)
        case .identifier(let name) where name == "true" || name == "false": return .bool(name == "true")
        case .identifier(let name): return .string(name)
        case .symbol(let symbol): throw TemplateSyntaxError(message: "expected a value, found '\(symbol)'", offset: offset)
        }
    }

    private mutating func expect(_ symbol: String) throws(TemplateSyntaxError) {
        guard peek() == .symbol(symbol) else {
            throw TemplateSyntaxError(message: "expected '\(symbol)'", offset: offsetHere())
        }
        position += 1
    }

    private func peek() -> Token? { position < tokens.count ? tokens[position].token : nil }
    private func offsetHere() -> Int { position < tokens.count ? tokens[position].offset : text.count }

    private static func tokenize(_ text: String) throws(TemplateSyntaxError) -> [(token: Token, offset: Int)] {
        let characters = Array(text)
        var result: [(Token, Int)] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
                continue
            }
            let start = index
            if character.isLetter || character == "_" {
                while index < characters.count
                    && (characters[index].isLetter || characters[index].isNumber || "_.-".contains(characters[index]))
                {
                    index += 1
                }
                // A trailing '-' or '.' belongs to no name.
                while index > start + 1 && "-.".contains(characters[index - 1]) { index -= 1 }
                result.append((.identifier(String(characters[start..<index])), start))
            } else if character.isNumber || (character == "-" && index + 1 < characters.count && characters[index + 1].isNumber) {
                index += 1
                while index < characters.count && (characters[index].isNumber || characters[index] == ".") { index += 1 }
                result.append((.number(String(characters[start..<index])), start))
            } else if character == "\"" || character == "'" {
                index += 1
                var value = ""
                while index < characters.count && characters[index] != character {
                    if characters[index] == "\\" && index + 1 < characters.count {
                        index += 1
                    }
                    value.append(characters[index])
                    index += 1
                }
                guard index < characters.count else {
                    throw TemplateSyntaxError(message: "unterminated string", offset: start)
                }
                index += 1
                result.append((.string(value), start))
            } else {
                let two = index + 1 < characters.count ? String(characters[index...index + 1]) : ""
                if ["==", "!=", "<=", ">="].contains(two) {
                    result.append((.symbol(two), start))
                    index += 2
                } else if "|(),<>=".contains(character) {
                    result.append((.symbol(String(character)), start))
                    index += 1
                } else {
                    throw TemplateSyntaxError(message: "unexpected character '\(character)'", offset: start)
                }
            }
        }
        return result
    }
}

/// A syntax error inside a template, at an offset from the start of the expression.
struct TemplateSyntaxError: Error {
    var message: String
    var offset: Int
}
