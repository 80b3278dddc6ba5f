import Foundation

/// One arm of a `{% for %}` (its body, or its `{% else %}` for an empty list) or of an
/// `{% if %}` (`if`, each `elif`, `else`). `start` and `end` are the slots of the arm's edges in
/// the template's shell analysis: a body must leave the shell's quoting as it found it.
struct TemplateArm: Sendable, Hashable {
    /// The arm's condition (`if`/`elif`); nil for a loop's body, its `else`, and an `else`.
    var condition: TemplateExpression?
    /// What the arm renders.
    var body: [Template.Segment]
    /// Where its tag is.
    var location: SourceLocation
    var start: Int
    var end: Int
}

/// `{% for NAME in EXPRESSION %}...{% else %}...{% endfor %}`.
struct TemplateLoop: Sendable, Hashable {
    /// The loop variable.
    var variable: String
    /// The list looped over.
    var items: TemplateExpression
    /// Where `{% for` is.
    var location: SourceLocation
    /// The body, rendered once per item (with `NAME` and `loop`).
    var body: TemplateArm
    /// Rendered when the list is empty.
    var empty: TemplateArm?
}

/// Reads template text into segments: text, `{{ expressions }}`, and the blocks `{% for %}` and
/// `{% if %}` nested at most ``maximumDepth`` deep. As in Jinja with `trim_blocks` and
/// `lstrip_blocks`, a line holding only a block tag leaves no blank line behind; `{%-`/`-%}` and
/// `{{-`/`-}}` trim the whitespace (newlines too) before or after them.
struct TemplateBlockParser {
    /// The deepest blocks may nest.
    static let maximumDepth = TemplateExpressionParser.maximumDepth

    private enum Token {
        case text(String)
        case expression(String, offset: Int, at: Int)
        case statement(String, offset: Int, at: Int)
    }

    private let source: String
    private let locate: @Sendable (Int) -> SourceLocation
    private var tokens: [Token] = []
    private var position = 0
    private var slot = 0

    init(_ source: String, locate: @escaping @Sendable (Int) -> SourceLocation) {
        self.source = source
        self.locate = locate
    }

    /// The segments, and how many placeholder slots the shell analysis has.
    mutating func parse() throws(PlaybookError) -> (segments: [Template.Segment], slots: Int) {
        tokens = try tokenize()
        let (segments, end) = try parseSegments(depth: 0)
        if let end {
            throw PlaybookError(.invalidValue("'{% \(end.word) %}' without a block to end"), at: end.location, keyPath: "")
        }
        return (segments, slot)
    }

    private struct Closing {
        var word: String
        var rest: String
        var location: SourceLocation
        var offset: Int
    }

    /// Segments up to the next `else`, `elif`, `endfor` or `endif` (returned), or to the end.
    private mutating func parseSegments(depth: Int) throws(PlaybookError) -> ([Template.Segment], Closing?) {
        var segments: [Template.Segment] = []
        while position < tokens.count {
            let token = tokens[position]
            position += 1
            switch token {
            case .text(let text):
                if !text.isEmpty { segments.append(.text(text)) }
            case .expression(let inner, let offset, let at):
                segments.append(.expression(try expression(inner, offset: offset), locate(at), slot))
                slot += 1
            case .statement(let inner, let offset, let at):
                let trimmed = inner.trimmingCharacters(in: .whitespaces)
                let word = String(trimmed.prefix { !$0.isWhitespace })
                let rest = String(trimmed.dropFirst(word.count)).trimmingCharacters(in: .whitespaces)
                let restOffset = offset + (inner.range(of: rest).map { inner.distance(from: inner.startIndex, to: $0.lowerBound) } ?? 0)
                switch word {
                case "for", "if":
                    if depth + 1 > Self.maximumDepth {
                        throw PlaybookError(
                            .invalidValue("blocks nested too deeply (more than \(Self.maximumDepth) levels)"), at: locate(at), keyPath: "")
                    }
                    segments.append(
                        word == "for"
                            ? try loop(rest, offset: restOffset, at: at, depth: depth) : try branch(rest, offset: restOffset, at: at, depth: depth))
                case "else", "elif", "endfor", "endif":
                    if word != "elif" && !rest.isEmpty {
                        throw PlaybookError(.invalidValue("'{% \(word) %}' takes nothing after it, found '\(rest)'"), at: locate(at), keyPath: "")
                    }
                    return (segments, Closing(word: word, rest: rest, location: locate(at), offset: restOffset))
                default:
                    let known = ["for", "if", "elif", "else", "endfor", "endif"]
                    let suggestion = Suggestions.closest(to: word, in: known).map { " (did you mean '\($0)'?)" } ?? ""
                    throw PlaybookError(
                        .invalidValue("unknown block '{% \(word) %}'\(suggestion); blocks are for ... in ... / endfor and if / elif / else / endif"),
                        at: locate(at), keyPath: "")
                }
            }
        }
        return (segments, nil)
    }

    private mutating func arm(_ condition: TemplateExpression?, at location: SourceLocation, depth: Int) throws(PlaybookError)
        -> (TemplateArm, Closing?)
    {
        let start = slot
        slot += 1
        let (body, closing) = try parseSegments(depth: depth + 1)
        let end = slot
        slot += 1
        return (TemplateArm(condition: condition, body: body, location: location, start: start, end: end), closing)
    }

    private mutating func loop(_ text: String, offset: Int, at: Int, depth: Int) throws(PlaybookError) -> Template.Segment {
        let location = locate(at)
        let words = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
        guard words.count == 3, words[1] == "in", let name = words.first,
            name.first.map({ $0.isLetter || $0 == "_" }) == true, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        else {
            throw PlaybookError(
                .invalidValue("a loop is `{% for NAME in LIST %}`, found '{% for \(text) %}'"), at: location, keyPath: "",
                hint: "e.g. {% for h in groups.web %}server {{ h.name }};{% endfor %}")
        }
        if ["loop", "host", "run", "plays", "groups", "hosts", "play", "batch"].contains(name) {
            throw PlaybookError(.invalidValue("'\(name)' is golive's own name: call the loop variable something else"), at: location, keyPath: "")
        }
        let itemsOffset = offset + (text.range(of: words[2]).map { text.distance(from: text.startIndex, to: $0.lowerBound) } ?? 0)
        let items = try expression(words[2], offset: itemsOffset)
        let (body, closing) = try arm(nil, at: location, depth: depth)
        var loop = TemplateLoop(variable: name, items: items, location: location, body: body, empty: nil)
        var end = closing
        if let closing, closing.word == "else" {
            let (empty, after) = try arm(nil, at: closing.location, depth: depth)
            loop.empty = empty
            end = after
        }
        guard let end, end.word == "endfor" else {
            throw PlaybookError(
                .invalidValue(end.map { "'{% \($0.word) %}' inside a loop: it ends with {% endfor %}" } ?? "unterminated '{% for %}' (missing '{% endfor %}')"),
                at: end?.location ?? location, keyPath: "")
        }
        return .loop(loop)
    }

    private mutating func branch(_ text: String, offset: Int, at: Int, depth: Int) throws(PlaybookError) -> Template.Segment {
        let location = locate(at)
        var arms: [TemplateArm] = []
        var (first, closing) = try arm(try condition(text, offset: offset, at: location), at: location, depth: depth)
        arms.append(first)
        var sawElse = false
        while let current = closing, current.word == "elif" || current.word == "else" {
            if sawElse {
                throw PlaybookError(.invalidValue("'{% \(current.word) %}' after '{% else %}'"), at: current.location, keyPath: "")
            }
            sawElse = current.word == "else"
            let test = current.word == "elif" ? try condition(current.rest, offset: current.offset, at: current.location) : nil
            (first, closing) = try arm(test, at: current.location, depth: depth)
            arms.append(first)
        }
        guard let end = closing, end.word == "endif" else {
            throw PlaybookError(
                .invalidValue(closing.map { "'{% \($0.word) %}' inside an if: it ends with {% endif %}" } ?? "unterminated '{% if %}' (missing '{% endif %}')"),
                at: closing?.location ?? location, keyPath: "")
        }
        return .branch(arms)
    }

    private func condition(_ text: String, offset: Int, at location: SourceLocation) throws(PlaybookError) -> TemplateExpression {
        guard !text.isEmpty else { throw PlaybookError(.invalidValue("'{% if %}' needs a condition"), at: location, keyPath: "") }
        return try expression(text, offset: offset)
    }

    private func expression(_ text: String, offset: Int) throws(PlaybookError) -> TemplateExpression {
        let locate = self.locate
        do {
            var parser = try TemplateExpressionParser(text, locate: { _, inner in locate(offset + inner) }, origin: locate(offset))
            return try parser.parse()
        } catch {
            throw PlaybookError(.invalidValue("in template: \(error.message)"), at: locate(offset + error.offset), keyPath: "")
        }
    }

    /// Splits the source into text, `{{ }}` and `{% %}`, applying the whitespace rules.
    private func tokenize() throws(PlaybookError) -> [Token] {
        let characters = Array(source)
        var tokens: [Token] = []
        var text = ""
        var index = 0
        var trimNext = false
        func trimTrailing(_ all: Bool, before tag: Int) {
            if all {
                while let last = text.last, last.isWhitespace { text.removeLast() }
                return
            }
            // lstrip_blocks: the spaces and tabs before a block tag that starts its line.
            var back = tag - 1
            while back >= 0, characters[back] == " " || characters[back] == "\t" { back -= 1 }
            guard back < 0 || characters[back] == "\n" || characters[back] == "\r\n" else { return }
            var count = tag - 1 - back
            while count > 0, let last = text.last, last == " " || last == "\t" {
                text.removeLast()
                count -= 1
            }
        }
        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            // `{%` starts a block only before one of the block words: `printf '{%s}'` is text.
            guard character == "{", next == "{" || (next == "%" && Self.startsBlock(characters, at: index + 2)) else {
                if trimNext && character.isWhitespace {
                    index += 1
                    continue
                }
                trimNext = false
                text.append(character)
                index += 1
                continue
            }
            trimNext = false
            let isStatement = next == "%"
            let close: Character = isStatement ? "%" : "}"
            var start = index + 2
            let trimBefore = start < characters.count && characters[start] == "-"
            if trimBefore { start += 1 }
            var end = start
            while end + 1 < characters.count && !(characters[end] == close && characters[end + 1] == "}") { end += 1 }
            guard end + 1 < characters.count else {
                throw PlaybookError(
                    .invalidValue(isStatement ? "unterminated '{%' (missing '%}')" : "unterminated '{{' (missing '}}')"), at: locate(index),
                    keyPath: "")
            }
            var innerEnd = end
            let trimAfter = innerEnd > start && characters[innerEnd - 1] == "-"
            if trimAfter { innerEnd -= 1 }
            // trim_blocks and lstrip_blocks apply to lines that hold block tags only, so that
            // `echo a {% if x %}b{% endif %}` keeps its newline (two shell lines never become one).
            let alone = isStatement && Self.holdsBlocksOnly(characters, around: index)
            if trimBefore { trimTrailing(true, before: index) } else if alone { trimTrailing(false, before: index) }
            if !text.isEmpty { tokens.append(.text(text)) }
            text = ""
            let inner = String(characters[start..<innerEnd])
            tokens.append(isStatement ? .statement(inner, offset: start, at: index) : .expression(inner, offset: start, at: index))
            index = end + 2
            if trimAfter {
                trimNext = true
            } else if alone, index < characters.count, characters[index] == "\n" || characters[index] == "\r\n" {
                index += 1  // trim_blocks: the newline after a line of block tags
            }
        }
        if !text.isEmpty { tokens.append(.text(text)) }
        return tokens
    }

    static let words: Set<String> = ["for", "if", "elif", "else", "endfor", "endif"]

    /// After `{%` (and an optional `-` and spaces) comes a block word.
    static func startsBlock(_ characters: [Character], at start: Int) -> Bool {
        var index = start
        if index < characters.count, characters[index] == "-" { index += 1 }
        while index < characters.count, characters[index] == " " || characters[index] == "\t" { index += 1 }
        var word = ""
        while index < characters.count, characters[index].isLetter { word.append(characters[index]); index += 1 }
        let boundary = index >= characters.count || !(characters[index].isLetter || characters[index].isNumber || characters[index] == "_")
        if words.contains(word) && boundary { return true }
        // Another word closed by `%}` on the same line is a block tag with a mistake in it (`{% endfro %}`),
        // reported as such; `printf '{%s}'` has no `%}` and stays text.
        guard !word.isEmpty else { return false }
        while index + 1 < characters.count, characters[index] != "\n", characters[index] != "\r\n" {
            if characters[index] == "%" && characters[index + 1] == "}" { return true }
            index += 1
        }
        return false
    }

    /// The line around the tag at `tag` holds nothing but block tags and blanks.
    static func holdsBlocksOnly(_ characters: [Character], around tag: Int) -> Bool {
        var start = tag
        while start > 0, characters[start - 1] != "\n", characters[start - 1] != "\r\n" { start -= 1 }
        var index = start
        while index < characters.count, characters[index] != "\n", characters[index] != "\r\n" {
            let character = characters[index]
            if character == " " || character == "\t" || character == "\r" {
                index += 1
            } else if character == "{", index + 1 < characters.count, characters[index + 1] == "%", startsBlock(characters, at: index + 2) {
                var end = index + 2
                while end + 1 < characters.count && !(characters[end] == "%" && characters[end + 1] == "}") { end += 1 }
                index = end + 2
            } else {
                return false
            }
        }
        return true
    }
}
