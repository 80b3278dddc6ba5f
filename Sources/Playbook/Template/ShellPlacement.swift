import System
/// Where a placeholder stands in a shell command, as the shell will parse it: what quoting keeps
/// its value one literal piece of text there, or why no quoting can.
public enum ShellPlacement: Sendable, Hashable {
    /// Outside quotes: the value becomes one single-quoted word (or part of one).
    case bare
    /// Inside `"..."`: `\`, `$`, `` ` `` and `"` are escaped.
    case doubleQuoted
    /// Inside `'...'`: each `'` closes the quote, is escaped, and reopens it.
    case singleQuoted
    /// In the body of a here-document: unquoted (`<<EOF`: `\`, `$` and `` ` `` escaped) or quoted
    /// (`<<'EOF'`: nothing can be escaped). Either way a value holding the delimiter line is refused.
    case heredoc(delimiter: String, quoted: Bool)
    /// In a `#` comment, to the end of its line: the value is inert there but for a newline, which
    /// would end the comment (newlines and carriage returns become spaces).
    case comment
    /// Where no quoting is safe: inside backticks, right after a backslash, inside `$((...))` or `${...}`.
    case unsafe(String)

    /// Quotes `value` for this place; nil when it cannot be made safe (``refusal(of:)`` says why).
    public func quote(_ value: String) -> String? {
        switch self {
        case .bare:
            return ShellQuote.quote(value)
        case .doubleQuoted:
            var out = ""
            for character in value {
                if "\\$`\"".contains(character) { out.append("\\") }
                out.append(character)
            }
            return out
        case .singleQuoted:
            return value.replacingOccurrences(of: "'", with: "'\\''")
        case .heredoc(let delimiter, let quoted):
            if value.split(separator: "\n", omittingEmptySubsequences: false).contains(where: {
                $0 == delimiter || $0.drop(while: { $0 == "\t" }) == delimiter
            }) {
                return nil
            }
            guard !quoted else { return value }
            var out = ""
            for character in value {
                if "\\$`".contains(character) { out.append("\\") }
                out.append(character)
            }
            return out
        case .comment:
            return String(value.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
        case .unsafe:
            return nil
        }
    }

    /// Why `value` cannot be placed here.
    public func refusal(of value: String) -> String {
        switch self {
        case .heredoc(let delimiter, _):
            "the value holds the line '\(delimiter)', which would end the here-document early"
        case .unsafe(let why):
            why
        default:
            "cannot be quoted here"
        }
    }
}
