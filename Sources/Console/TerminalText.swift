/// Text from hosts made safe for a terminal: every control character (escape sequences, cursor
/// moves, carriage returns, OSC titles, the C1 range) is shown as a visible escape (`\e`, `\r`,
/// `\u{9b}`), so host output can never move the cursor, rewrite a line or retitle the window.
/// Newlines and tabs stay as they are.
public enum TerminalText {
    /// `text` with its control characters made visible.
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar.value {
            case 0x1B: out += "\\e"
            case 0x0D: out += "\\r"
            case 0x08: out += "\\b"
            case 0x07: out += "\\a"
            default: out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return out
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: false
        case 0x00...0x1F, 0x7F, 0x80...0x9F: true
        default: false
        }
    }
}
