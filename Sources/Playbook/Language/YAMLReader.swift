import Foundation
import Yams

/// Walks a YAML document, turning nodes into typed values and collecting every problem on the way
/// (with file, line, column and key path) instead of stopping at the first.
final class YAMLReader {
    let file: String
    let text: String
    private(set) var diagnostics: [PlaybookError] = []
    /// Nodes visited so far; bounds alias expansion ("billion laughs").
    private var visited = 0
    static let maxNodes = 200_000
    static let maxFileSize = 8 << 20

    init(file: String, text: String) {
        self.file = file
        self.text = text
    }

    /// Reads and parses a file; returns nil (with a diagnostic) when it cannot.
    static func load(file: String) -> (YAMLReader, Node?) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: file)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        // Refused by its size before a byte is read: memory stays bounded whatever the file.
        if size > maxFileSize {
            let reader = YAMLReader(file: file, text: "")
            reader.error(
                .unreadable("the file is \(size) bytes; golive reads at most \(maxFileSize) bytes"),
                at: SourceLocation(file: file, line: 1, column: 1), "")
            return (reader, nil)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            let reader = YAMLReader(file: file, text: "")
            reader.error(.unreadable("cannot read the file"), at: SourceLocation(file: file, line: 1, column: 1), "")
            return (reader, nil)
        }
        guard size <= maxFileSize && data.count <= maxFileSize else {
            let reader = YAMLReader(file: file, text: "")
            reader.error(
                .unreadable("the file is \(data.count) bytes; golive reads at most \(maxFileSize) bytes"),
                at: SourceLocation(file: file, line: 1, column: 1), "")
            return (reader, nil)
        }
        let text: String
        switch SourceText.decode(data, file: file) {
        case .success(let decoded): text = decoded
        case .failure(let error):
            let reader = YAMLReader(file: file, text: String(decoding: data, as: UTF8.self))
            reader.add(error)
            return (reader, nil)
        }
        let reader = YAMLReader(file: file, text: text)
        do {
            guard let node = try Yams.compose(yaml: text) else {
                reader.error(.syntax("the document is empty"), at: SourceLocation(file: file, line: 1, column: 1), "")
                return (reader, nil)
            }
            return (reader, node)
        } catch let error as YamlError {
            reader.report(error)
            return (reader, nil)
        } catch {
            reader.error(.syntax("\(error)"), at: SourceLocation(file: file, line: 1, column: 1), "")
            return (reader, nil)
        }
    }

    private func report(_ error: YamlError) {
        if case .duplicatedKeysInMapping(let duplicates, _) = error, let key = duplicates.first,
            let located = duplicateKey("duplicated key '\(key)'")
        {
            diagnostics.append(located)
            return
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let where_ = context.map { " (\($0.text))" } ?? ""
            self.error(.syntax(problem + where_), at: location(mark), "")
        case .reader(let problem, let offset, _, _):
            let prefix = text.utf8.prefix(offset ?? 0)
            let line = prefix.filter { $0 == UInt8(ascii: "\n") }.count + 1
            self.error(.syntax(problem), at: SourceLocation(file: file, line: line, column: 1), "")
        default:
            self.error(.syntax("\(error)"), at: SourceLocation(file: file, line: 1, column: 1), "")
        }
    }

    /// Yams refuses duplicate keys without a position; find the second occurrence in the text.
    private func duplicateKey(_ problem: String) -> PlaybookError? {
        guard problem.contains("duplicated key"), let open = problem.firstIndex(of: "'"),
            let close = problem[problem.index(after: open)...].firstIndex(of: "'")
        else { return nil }
        let key = String(problem[problem.index(after: open)..<close])
        var seen: [String: Int] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let indentation = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(indentation)
            guard rest.hasPrefix(key + ":") else { continue }
            if let first = seen["\(indentation)"] {
                return PlaybookError(
                    .duplicate("key '\(key)' appears twice (first at line \(first))"),
                    at: SourceLocation(file: file, line: index + 1, column: indentation + 1), keyPath: key)
            }
            seen["\(indentation)"] = index + 1
        }
        return nil
    }

    // MARK: diagnostics

    func error(_ kind: PlaybookError.Kind, at location: SourceLocation, _ path: String, hint: String? = nil) {
        diagnostics.append(PlaybookError(kind, at: location, keyPath: path, hint: hint))
    }

    func warning(_ kind: PlaybookError.Kind, at location: SourceLocation, _ path: String, hint: String? = nil) {
        diagnostics.append(PlaybookError(kind, at: location, keyPath: path, hint: hint, severity: .warning))
    }

    func error(_ kind: PlaybookError.Kind, _ node: Node, _ path: String, hint: String? = nil) {
        error(kind, at: location(node), path, hint: hint)
    }

    func add(_ diagnostic: PlaybookError) { diagnostics.append(diagnostic) }

    func location(_ node: Node) -> SourceLocation {
        node.mark.map(location) ?? SourceLocation(file: file, line: 1, column: 1)
    }

    func location(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }

    // MARK: shapes

    /// A mapping's entries in order; reports unknown keys (with a suggestion) and duplicates.
    func mapping(_ node: Node, _ path: String, allowed: [String]? = nil) -> [(key: String, keyNode: Node, value: Node)]? {
        guard count(node) else { return nil }
        guard case .mapping(let mapping) = node else {
            error(.wrongType(expected: "a map of keys" + (allowed.map { " (\($0.prefix(6).joined(separator: ", ")))" } ?? "")
                + ", found \(describe(node))"), node, path)
            return nil
        }
        var seen: [String: SourceLocation] = [:]
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                error(.wrongType(expected: "a plain key"), keyNode, path)
                continue
            }
            let key = scalar.string
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            if let first = seen[key] {
                error(.duplicate("key '\(key)' appears twice (first at line \(first.line))"), keyNode, keyPath)
                continue
            }
            seen[key] = location(keyNode)
            if let allowed, !allowed.contains(key) {
                let hint = Suggestions.closest(to: key, in: allowed).map { "did you mean '\($0)'?" }
                    ?? "allowed keys here: \(allowed.joined(separator: ", "))"
                error(.unknownKey(key), keyNode, keyPath, hint: hint)
                continue
            }
            entries.append((key, keyNode, value))
        }
        return entries
    }

    func sequence(_ node: Node, _ path: String) -> [Node]? {
        guard count(node) else { return nil }
        guard case .sequence(let sequence) = node else {
            error(.wrongType(expected: "a list, found \(describe(node))"), node, path)
            return nil
        }
        return Array(sequence)
    }

    func scalar(_ node: Node, _ path: String, expected: String) -> Node.Scalar? {
        guard count(node) else { return nil }
        guard case .scalar(let scalar) = node else {
            error(.wrongType(expected: "\(expected), found \(describe(node))"), node, path)
            return nil
        }
        return scalar
    }

    func string(_ node: Node, _ path: String) -> String? {
        guard let scalar = scalar(node, path, expected: "a string") else { return nil }
        return scalar.string
    }

    func nonEmptyString(_ node: Node, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            error(.invalidValue("must not be empty"), node, path)
            return nil
        }
        return text
    }

    func int(_ node: Node, _ path: String, range: ClosedRange<Int>? = nil) -> Int? {
        guard let scalar = scalar(node, path, expected: "an integer") else { return nil }
        guard let value = Int(scalar.string) else {
            error(.wrongType(expected: "an integer, found '\(scalar.string)'"), node, path)
            return nil
        }
        if let range, !range.contains(value) {
            error(.invalidValue("\(value) is out of range (\(range.lowerBound)...\(range.upperBound))"), node, path)
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ path: String) -> Bool? {
        guard let scalar = scalar(node, path, expected: "true or false") else { return nil }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            error(.wrongType(expected: "true or false, found '\(scalar.string)'"), node, path)
            return nil
        }
    }

    /// A duration; `positive` refuses zero (a timeout or an interval of nothing).
    func duration(_ node: Node, _ path: String, positive: Bool = false) -> Duration? {
        guard let scalar = scalar(node, path, expected: "a duration like 30s, 5m or 1h30m") else { return nil }
        guard let value = DurationSyntax.parse(scalar.string) else {
            if DurationSyntax.isWellFormed(scalar.string) {
                error(
                    .invalidValue("'\(scalar.string)' is out of range: durations are at most \(DurationSyntax.maximumSeconds / 86400)d"), node, path,
                    hint: "write a shorter duration")
            } else {
                error(
                    .invalidValue("'\(scalar.string)' is not a duration"), node, path,
                    hint: "write a number with a unit: 500ms, 30s, 5m, 1h30m")
            }
            return nil
        }
        if positive && value <= .zero {
            error(.invalidValue("'\(scalar.string)' must be more than zero"), node, path, hint: "write a duration like 500ms or 30s")
            return nil
        }
        return value
    }

    /// A template string; `locate` maps offsets inside the string to file positions.
    func template(_ node: Node, _ path: String, condition: Bool = false) -> Template? {
        guard let scalar = scalar(node, path, expected: "a string") else { return nil }
        let start = location(node)
        let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
        let block = scalar.style == .literal || scalar.style == .folded
        let text = scalar.string
        let file = self.file
        let indentation = block ? Self.blockIndentation(self.text, afterLine: start.line) : 0
        let locate: @Sendable (Int) -> SourceLocation = { offset in
            let prefix = text.prefix(offset)
            let newlines = prefix.filter { $0 == "\n" }.count
            if block {
                let column = prefix.count - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0)
                return SourceLocation(file: file, line: start.line + 1 + newlines, column: indentation + column + 1)
            }
            if newlines > 0 { return SourceLocation(file: file, line: start.line + newlines, column: 1) }
            return SourceLocation(file: file, line: start.line, column: start.column + offset + (quoted ? 1 : 0))
        }
        do {
            return condition
                ? try Template.condition(text, at: start, locate: locate) : try Template(text, at: start, locate: locate)
        } catch {
            var located = error
            located.keyPath = path
            add(located)
            return nil
        }
    }

    private static func blockIndentation(_ text: String, afterLine line: Int) -> Int {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line < lines.count else { return 0 }
        return lines[line].prefix { $0 == " " }.count
    }

    /// Any YAML value as a ``Value`` (for vars).
    func value(_ node: Node, _ path: String) -> Value? {
        guard count(node) else { return nil }
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                let text = scalar.string
                if ["null", "~", ""].contains(text) { return .null }
                if ["true", "True", "TRUE", "yes", "Yes"].contains(text) { return .bool(true) }
                if ["false", "False", "FALSE", "no", "No"].contains(text) { return .bool(false) }
                if let number = Int(text) { return .int(number) }
                if let number = Double(text), text.contains(".") { return .double(number) }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            var items: [Value] = []
            for (index, item) in sequence.enumerated() {
                guard let value = value(item, "\(path)[\(index)]") else { return nil }
                items.append(value)
            }
            return .list(items)
        case .mapping:
            guard let entries = mapping(node, path) else { return nil }
            var map: [String: Value] = [:]
            for entry in entries {
                guard let value = value(entry.value, "\(path).\(entry.key)") else { return nil }
                map[entry.key] = value
            }
            return .map(map)
        case .alias:
            error(.syntax("unresolved alias"), node, path)
            return nil
        }
    }

    /// A `vars:` map.
    func variables(_ node: Node, _ path: String) -> [String: Value] {
        guard let entries = mapping(node, path) else { return [:] }
        var vars: [String: Value] = [:]
        for entry in entries {
            let keyPath = "\(path).\(entry.key)"
            if ["host", "run", "plays", "groups", "hosts", "play", "batch", "loop"].contains(entry.key) {
                error(.invalidValue("'\(entry.key)' is reserved (host facts, run details, the fleet and earlier plays' results)"), entry.keyNode, keyPath)
                continue
            }
            if entry.key.isEmpty || entry.key.contains(where: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                error(.invalidValue("'\(entry.key)' is not a valid variable name (letters, digits, _ and -)"), entry.keyNode, keyPath)
                continue
            }
            if let value = value(entry.value, keyPath) { vars[entry.key] = value }
        }
        return vars
    }

    private func count(_ node: Node) -> Bool {
        visited += 1
        if visited == Self.maxNodes {
            error(
                .unreadable("the document expands to more than \(Self.maxNodes) nodes (alias bomb?)"), node, "")
        }
        return visited < Self.maxNodes
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "'\(scalar.string.prefix(40))'"
        case .mapping: "a map"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
