import Foundation
import System

/// A string with `{{ expression }}` placeholders and `{% for %}` / `{% if %}` blocks, parsed when
/// the file is loaded.
///
/// In commands (`shell`, `rollback`, `command`, `local`) every substituted value is shell-quoted
/// for the place it stands (inside a loop too) unless the expression ends in `| raw`; elsewhere
/// values are inserted as they are.
public struct Template: Sendable, Hashable, CustomStringConvertible {
    indirect enum Segment: Sendable, Hashable {
        case text(String)
        /// An expression, where it is, and its slot in the shell analysis.
        case expression(TemplateExpression, SourceLocation, Int)
        case loop(TemplateLoop)
        case branch([TemplateArm])
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
        var parser = TemplateBlockParser(source, locate: locate)
        let (segments, _) = try parser.parse()
        self.segments = segments
        shell = Self.placements(segments)
    }

    /// Every slot of the shell analysis in order: a placeholder (nil) per expression and per arm edge, text between.
    static func flatten(_ segments: [Segment]) -> [String?] {
        var pieces: [String?] = []
        func arm(_ arm: TemplateArm) {
            pieces.append(nil)
            pieces += flatten(arm.body)
            pieces.append(nil)
        }
        for segment in segments {
            switch segment {
            case .text(let text): pieces.append(text)
            case .expression: pieces.append(nil)
            case .loop(let loop):
                arm(loop.body)
                if let empty = loop.empty { arm(empty) }
            case .branch(let arms): arms.forEach(arm)
            }
        }
        return pieces
    }

    static func placements(_ segments: [Segment]) -> [ShellSyntax.Found] {
        ShellSyntax.analyze(flatten(segments))
    }

    /// Parses the bytes of a template file (a `template:` step's source): read as ``SourceText``
    /// (UTF-8, a byte-order mark dropped), then as a template; every error located in the file.
    public static func parse(fileData data: Data, file: String) throws(PlaybookError) -> Template {
        try parse(fileText: SourceText.decode(data, file: file).get(), file: file)
    }

    /// Parses a whole template file (for `template:` steps); errors point into that file.
    public static func parse(fileText text: String, file: String) throws(PlaybookError) -> Template {
        try Template(text, at: SourceLocation(file: file, line: 1, column: 1)) { offset in
            // "\r\n" is one Character in Swift; a lone "\r" ends a line too.
            let prefix = text.prefix(offset)
            let breaks: (Character) -> Bool = { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
            let line = prefix.filter(breaks).count + 1
            let lineStart = prefix.lastIndex(where: breaks).map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0
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

    /// Every variable path used, in every branch, with its location (`optional` when under
    /// `default(...)`); paths of a loop's own variables (`h.name`, `loop.index`) inside it are not
    /// variables of the context and are left out (``unresolved(in:)`` checks them).
    public var references: [(path: [String], location: SourceLocation, optional: Bool)] {
        var out: [(path: [String], location: SourceLocation, optional: Bool)] = []
        func walk(_ segments: [Segment], bound: Set<String>) {
            func add(_ expression: TemplateExpression) {
                out += expression.references().filter { !bound.contains($0.path.first ?? "") }
            }
            for segment in segments {
                switch segment {
                case .text: break
                case .expression(let expression, _, _): add(expression)
                case .loop(let loop):
                    add(loop.items)
                    walk(loop.body.body, bound: bound.union([loop.variable, "loop"]))
                    if let empty = loop.empty { walk(empty.body, bound: bound) }
                case .branch(let arms):
                    for arm in arms {
                        if let condition = arm.condition { add(condition) }
                        walk(arm.body, bound: bound)
                    }
                }
            }
        }
        walk(segments, bound: [])
        return out
    }

    /// What does not resolve in `context`, in every branch (not only the one a value would take):
    /// undefined names, and loops over something that is not a list. A loop's body is checked with
    /// its variable bound to each differently shaped item of the list as the context has it.
    public func unresolved(in context: TemplateContext) -> [TemplateError] {
        var problems: [TemplateError] = []
        var seen: Set<String> = []
        // Loop bodies walked at most this many times in all (items of different shapes, nested).
        var walks = 10_000
        func note(_ error: TemplateError) {
            if seen.insert("\(error.location)|\(error.message)").inserted { problems.append(error) }
        }
        /// Names first; then, when they all resolve, the expression itself (a filter on the wrong
        /// type, a map where text is needed, a secret compared).
        func check(_ expression: TemplateExpression, _ context: TemplateContext, at location: SourceLocation, printed: Bool) {
            var resolved = true
            for reference in expression.references() where !reference.optional {
                do { _ = try context.lookup(reference.path, at: reference.location) } catch {
                    note(error)
                    resolved = false
                }
            }
            guard resolved else { return }
            do {
                let value = try Self.evaluate(expression, context, at: location).value
                if printed { try Self.checkPrintable(value, at: location) }
            } catch {
                note(error)
            }
        }
        func walk(_ segments: [Segment], _ context: TemplateContext) {
            for segment in segments {
                switch segment {
                case .text: break
                case .expression(let expression, let location, _): check(expression, context, at: location, printed: true)
                case .loop(let loop):
                    let before = problems.count
                    check(loop.items, context, at: loop.location, printed: false)
                    if let empty = loop.empty { walk(empty.body, context) }
                    guard problems.count == before, let items = try? Self.evaluate(loop.items, context, at: loop.location).value else { continue }
                    guard case .list(let list) = items else {
                        note(TemplateError(message: "loops over a list, not a \(items.typeName)", location: loop.location))
                        continue
                    }
                    var shapes: Set<String> = []
                    for (index, item) in list.enumerated() {
                        let shape = Self.shape(item)
                        guard shapes.insert(shape).inserted, walks > 0 else { continue }
                        walks -= 1
                        var inner = context
                        inner.variables[loop.variable] = item
                        inner.variables["loop"] = Self.loopInfo(index, list.count)
                        walk(loop.body.body, inner)
                    }
                    if list.isEmpty {
                        // Nothing to bind the variable to: what the body says of it cannot be
                        // checked yet; everything else it names can.
                        var inner = context
                        inner.variables[loop.variable] = .map([:])
                        inner.variables["loop"] = Self.loopInfo(0, 1)
                        let outside = problems.count
                        walk(loop.body.body, inner)
                        let own = problems[outside...].filter { problem in
                            [loop.variable, "loop"].contains { problem.message.hasPrefix("'\($0).") || problem.message.hasPrefix("'\($0)'") }
                                || problem.message.hasPrefix("is a map")
                        }
                        problems.removeAll { problem in own.contains(problem) }
                    }
                case .branch(let arms):
                    for arm in arms {
                        if let condition = arm.condition { check(condition, context, at: arm.location, printed: false) }
                        walk(arm.body, context)
                    }
                }
            }
        }
        walk(segments, context)
        // What the whole rendering costs: a loop nested in a loop over a large group is refused
        // here, at validate, not found out by the plan or the run.
        if problems.isEmpty {
            do { _ = try render(context, quoting: .plain) } catch {
                if error.message.contains("loop iterations") || error.message.hasPrefix("renders more than") { note(error) }
            }
        }
        return problems
    }

    /// The names, nesting and types of a value (items alike in shape resolve alike).
    static func shape(_ value: Value) -> String {
        switch value {
        case .map(let entries): "{" + entries.keys.sorted().map { "\($0):" + shape(entries[$0] ?? .null) }.joined(separator: ",") + "}"
        case .list(let items): "[" + (items.first.map(shape) ?? "") + "]"
        default: value.typeName
        }
    }

    /// A template of already parsed segments (a block's body).
    init(segments: [Segment]) {
        source = ""
        location = .commandLine("block")
        self.segments = segments
        shell = []
    }

    /// `loop`: where a loop is (`index` from 1, `index0`, `first`, `last`, `length`).
    static func loopInfo(_ index: Int, _ count: Int) -> Value {
        .map([
            "index": .int(index + 1), "index0": .int(index), "first": .bool(index == 0), "last": .bool(index == count - 1),
            "length": .int(count),
        ])
    }

    /// Renders the template.
    ///
    /// - Returns: the text to use (secrets revealed) and the text to show (secrets as `••••`).
    /// - Throws: ``TemplateError`` for an undefined variable or a type problem.
    public func render(_ context: TemplateContext, quoting: Quoting) throws(TemplateError) -> RenderedText {
        var out = RenderedText(text: "", display: "", secrets: [])
        var context = context
        var budget = Self.maximumIterations
        try render(segments, &context, quoting: quoting, into: &out, budget: &budget)
        return out
    }

    /// The most loop iterations one rendering may take, and the most text it may produce: a loop
    /// nested in a loop over a large group is refused instead of running for hours.
    static let maximumIterations = 1_000_000
    static let maximumLength = 32 << 20

    private func render(
        _ segments: [Segment], _ context: inout TemplateContext, quoting: Quoting, into out: inout RenderedText, budget: inout Int
    ) throws(TemplateError) {
        if out.text.utf8.count > Self.maximumLength {
            throw TemplateError(message: "renders more than \(Self.maximumLength >> 20) MB", location: location)
        }
        for segment in segments {
            switch segment {
            case .text(let literal):
                out.text += literal
                out.display += literal
            case .expression(let expression, let location, let slot):
                let result = try Self.evaluate(expression, context, at: location)
                try Self.checkPrintable(result.value, at: location)
                let found = slot < shell.count ? shell[slot] : nil
                out.secrets += result.value.secretValues
                let plain = result.value.text(revealingSecrets: true)
                let shown = result.value.text(revealingSecrets: false)
                if result.raw {
                    out.text += plain
                    out.display += shown
                } else if quoting == .shell {
                    // Quoted for where it stands, whatever filters came before (`quote` included).
                    let placement = found?.placement ?? .bare
                    guard let quoted = placement.quote(plain), let quotedShown = placement.quote(shown) else {
                        throw TemplateError(message: "cannot be quoted here: \(placement.refusal(of: plain))", location: location)
                    }
                    out.text += quoted
                    out.display += quotedShown
                } else if result.quoted {
                    // `| quote` outside a shell command: one shell word, as the last transformation.
                    out.text += ShellQuote.quote(plain)
                    out.display += ShellQuote.quote(shown)
                } else {
                    out.text += plain
                    out.display += shown
                }
            case .loop(let loop):
                let items = try Self.evaluate(loop.items, context, at: loop.location).value
                guard case .list(let list) = items else {
                    throw TemplateError(message: "loops over a list, not a \(items.typeName)", location: loop.location)
                }
                if list.isEmpty, let empty = loop.empty {
                    try render(empty.body, &context, quoting: quoting, into: &out, budget: &budget)
                    continue
                }
                let saved = (context.variables[loop.variable], context.variables["loop"])
                for (index, item) in list.enumerated() {
                    budget -= 1
                    if budget < 0 {
                        throw TemplateError(message: "takes more than \(Self.maximumIterations) loop iterations to render", location: loop.location)
                    }
                    context.variables[loop.variable] = item
                    context.variables["loop"] = Self.loopInfo(index, list.count)
                    try render(loop.body.body, &context, quoting: quoting, into: &out, budget: &budget)
                }
                context.variables[loop.variable] = saved.0
                context.variables["loop"] = saved.1
            case .branch(let arms):
                for arm in arms {
                    if let condition = arm.condition, !(try Self.evaluate(condition, context, at: arm.location).value.isTruthy) { continue }
                    try render(arm.body, &context, quoting: quoting, into: &out, budget: &budget)
                    break
                }
            }
        }
    }

    /// What `validate` says about this text as a shell command: placeholders no quoting can make
    /// safe (errors), and those whose value a second shell parses again or that are `| raw`
    /// (warnings), each with its location.
    public var shellDiagnostics: [(location: SourceLocation, message: String, isError: Bool)] {
        var out: [(location: SourceLocation, message: String, isError: Bool)] = []
        func arm(_ arm: TemplateArm) {
            // A body repeated (or taken or not) must leave the quoting as it found it.
            if arm.start < shell.count, arm.end < shell.count, shell[arm.start].placement != shell[arm.end].placement {
                out.append(
                    (arm.location,
                     "the block's text changes the shell's quoting (it opens a quote, a here-document or a substitution it does not close): close it inside the block",
                     true))
            }
            walk(arm.body)
        }
        func walk(_ segments: [Segment]) {
            for segment in segments {
                switch segment {
                case .text: break
                case .expression(let expression, let location, let slot):
                    let found = slot < shell.count ? shell[slot] : nil
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
                case .loop(let loop):
                    arm(loop.body)
                    if let empty = loop.empty { arm(empty) }
                case .branch(let arms): arms.forEach(arm)
                }
            }
        }
        walk(segments)
        return out
    }

    static func isRaw(_ expression: TemplateExpression) -> Bool {
        if case .filtered(_, let filters) = expression { return filters.contains(.raw) }
        return false
    }

    /// Evaluates the template as a condition (`when:`, `until:`).
    public func evaluateCondition(_ context: TemplateContext) throws(TemplateError) -> Bool {
        if segments.count == 1, case .expression(let expression, let location, _) = segments[0] {
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
                case .upper:
                    try checkPrintable(result.value, at: location)
                    result.value = result.value.mapText { $0.uppercased() }
                case .lower:
                    try checkPrintable(result.value, at: location)
                    result.value = result.value.mapText { $0.lowercased() }
                case .trim:
                    try checkPrintable(result.value, at: location)
                    result.value = result.value.mapText { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                case .basename:
                    try checkPrintable(result.value, at: location)
                    result.value = result.value.mapText { text in
                        let trimmed = text.hasSuffix("/") && text.count > 1 ? String(text.dropLast()) : text
                        return trimmed.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? trimmed
                    }
                case .dirname:
                    try checkPrintable(result.value, at: location)
                    result.value = result.value.mapText { text in
                        guard let slash = text.lastIndex(of: "/") else { return "." }
                        return slash == text.startIndex ? "/" : String(text[..<slash])
                    }
                case .length:
                    if !result.value.secretValues.isEmpty {
                        throw TemplateError(message: "the length of a secret would show something of it", location: location)
                    }
                    switch result.value {
                    case .list(let items): result.value = .int(items.count)
                    case .map(let entries): result.value = .int(entries.count)
                    default: result.value = .int(result.value.text(revealingSecrets: true).count)
                    }
                case .first, .last:
                    let items = try list(result.value, filter: filter == .first ? "first" : "last", at: location)
                    result.value = (filter == .first ? items.first : items.last) ?? .null
                case .sort:
                    let items = try list(result.value, filter: "sort", at: location)
                    let numeric = items.allSatisfy { Double($0.text(revealingSecrets: true)) != nil }
                    result.value = .list(
                        items.sorted { a, b in
                            let x = a.text(revealingSecrets: true), y = b.text(revealingSecrets: true)
                            return numeric ? (Double(x) ?? 0) < (Double(y) ?? 0) : x < y
                        })
                case .unique:
                    var seen: Set<Value> = []
                    result.value = .list(try list(result.value, filter: "unique", at: location).filter { seen.insert($0).inserted })
                case .map(let attribute):
                    let path = attribute.split(separator: ".").map(String.init)
                    result.value = .list(
                        try list(result.value, filter: "map", at: location).map { item throws(TemplateError) -> Value in
                            try TemplateContext(variables: ["item": item]).lookup(["item"] + path, at: location)
                        })
                case .join(let separator):
                    let items = try list(result.value, filter: "join", at: location)
                    for item in items { try checkPrintable(item, at: location) }
                    let joined = items.map { $0.text(revealingSecrets: true) }.joined(separator: separator)
                    // A secret among the items keeps the whole joined text secret.
                    result.value = items.contains { !$0.secretValues.isEmpty } ? .secret(Secret(joined)) : .string(joined)
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
            // What a comparison decides shows in what is rendered (which arm, which step runs):
            // a secret must not decide it.
            if !a.secretValues.isEmpty || !b.secretValues.isEmpty {
                throw TemplateError(
                    message: "a secret cannot be compared (`\(op)`): what it decides would show its value", location: location)
            }
            return Evaluated(value: .bool(compare(a, op, b)))
        }
    }

    /// A map (a host, `groups`) is not text: pick a field. A list of maps neither.
    static func checkPrintable(_ value: Value, at location: SourceLocation) throws(TemplateError) {
        switch value {
        case .map(let entries):
            let keys = entries.keys.sorted().prefix(6).joined(separator: ", ")
            throw TemplateError(message: "is a map (\(keys)), not text: pick a field (`.name`)", location: location)
        case .list(let items) where items.contains(where: { if case .map = $0 { true } else { false } }):
            throw TemplateError(message: "is a list of maps, not text: `| map(attribute=\"name\") | join(\" \")`, or a loop", location: location)
        default: return
        }
    }

    /// The items of a list a filter works on.
    static func list(_ value: Value, filter: String, at location: SourceLocation) throws(TemplateError) -> [Value] {
        if case .list(let items) = value { return items }
        if case .null = value { return [] }
        throw TemplateError(message: "`\(filter)` works on a list; this is \(value.typeName)", location: location)
    }

    static func compare(_ a: Value, _ op: String, _ b: Value) -> Bool {
        if op == "in" {
            switch b {
            case .list(let items):
                // A host of `groups.web` is in by its name: `host.name in groups.web`.
                return items.contains { item in
                    if case .map(let entries) = item, let name = entries["name"] { return name.text(revealingSecrets: true) == a.text(revealingSecrets: true) }
                    return item.text(revealingSecrets: true) == a.text(revealingSecrets: true)
                }
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
