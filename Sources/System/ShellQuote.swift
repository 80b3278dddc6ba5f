/// POSIX shell quoting: a value as one word, taken literally by `sh`. The one quoter of golive:
/// templates use it for bare words, the engine for the paths and names it puts in its scripts.
public enum ShellQuote {
    /// The value as one shell word: left as is when it holds only safe characters, else wrapped in
    /// single quotes with embedded single quotes written `'\''`.
    public static func quote(_ value: String) -> String {
        if !value.isEmpty, value.unicodeScalars.allSatisfy({ safe.contains($0) }) { return value }
        return "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_".unicodeScalars)
}
