import Foundation

/// Every problem found in one pass over the input; thrown when at least one is an error.
public struct ValidationFailure: Error, Sendable, CustomStringConvertible {
    /// The problems, in file and line order.
    public var diagnostics: [PlaybookError]

    /// Creates a failure.
    public init(_ diagnostics: [PlaybookError]) { self.diagnostics = diagnostics }

    /// The errors only.
    public var errors: [PlaybookError] { diagnostics.filter { $0.severity == .error } }

    public var description: String { DiagnosticRenderer().render(diagnostics) }
}

/// Prints diagnostics like a compiler: the message, the offending source line and a caret under the column.
public struct DiagnosticRenderer: Sendable {
    private let sources: [String: [Substring]]

    /// Creates a renderer that reads the files named by the diagnostics (when they exist).
    public init() { sources = [:] }

    /// Creates a renderer with file contents already at hand.
    public init(sources: [String: String]) {
        self.sources = sources.mapValues { $0.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) }
    }

    /// The diagnostics as text, each followed by its source line and caret when the file is readable.
    public func render(_ diagnostics: [PlaybookError]) -> String {
        var cache = sources
        var out: [String] = []
        for diagnostic in diagnostics {
            let location = diagnostic.location
            var text = "\(location): \(diagnostic.severity.rawValue): "
            if !diagnostic.keyPath.isEmpty { text += "\(diagnostic.keyPath): " }
            text += diagnostic.kind.message
            // The source line is shown only for files golive reads (never a huge one into memory).
            let size = ((try? FileManager.default.attributesOfItem(atPath: location.file))?[.size] as? NSNumber)?.intValue ?? 0
            if cache[location.file] == nil, size <= 8 << 20, let data = FileManager.default.contents(atPath: location.file) {
                cache[location.file] = String(decoding: data, as: UTF8.self)
                    .split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            }
            if let lines = cache[location.file], location.line >= 1, location.line <= lines.count {
                let line = Self.concealingPasswords(String(lines[location.line - 1])).replacingOccurrences(of: "\t", with: " ")
                let shown = line.count > 160 ? String(line.prefix(160)) + "…" : line
                text += "\n    \(shown)\n    " + String(repeating: " ", count: max(0, location.column - 1)) + "^"
            }
            if let hint = diagnostic.hint { text += "\n  hint: \(hint)" }
            out.append(text)
        }
        return out.joined(separator: "\n")
    }

    /// A source line with the values of password variables written in it (an Ansible inventory's
    /// `ansible_become_password=...`, `ansible_ssh_pass: ...`, `db_password: ...`) replaced by
    /// `••••`: an excerpt never shows a password, whatever the diagnostic is about.
    static func concealingPasswords(_ line: String) -> String {
        guard ["pass", "secret", "token", "key"].contains(where: { line.range(of: $0, options: .caseInsensitive) != nil }) else { return line }
        let key = #"\b[A-Za-z_]*(?:pass|passwd|password|passphrase|secret|_token|api_?key)\b"#
        let quoted = #""(?:[^"\\]|\\.)*"?|'[^']*'?"#
        // `key=value` (INI: the value is one shell word) and `key: value` (YAML: to the end of the
        // line, or of a flow item).
        var concealed = line
        for pattern in ["(?i)(\(key)\\s*=\\s*)(\(quoted)|\\S+)", "(?i)(\(key)[\"']?\\s*:\\s*)(\(quoted)|[^,}\\]]+)"] {
            guard let expression = try? NSRegularExpression(pattern: pattern) else { continue }
            concealed = expression.stringByReplacingMatches(
                in: concealed, range: NSRange(concealed.startIndex..., in: concealed),
                withTemplate: "$1" + NSRegularExpression.escapedTemplate(for: Value.redactionMark))
        }
        return concealed
    }
}
