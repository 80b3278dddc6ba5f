import Foundation

/// Durations as written in playbooks: `500ms`, `30s`, `5m`, `2h`, `1h30m`, `1d`; at most
/// ``maximum`` (366 days), so that no arithmetic on one can overflow.
public enum DurationSyntax {
    /// The longest duration golive accepts anywhere: 366 days.
    public static let maximumSeconds = 366 * 86_400
    /// The longest duration golive accepts anywhere.
    public static let maximum: Duration = .seconds(maximumSeconds)

    /// Parses a duration; nil when malformed or longer than ``maximum``. A bare number is seconds.
    public static func parse(_ text: String) -> Duration? {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.count <= 40 else { return nil }
        if let seconds = Int(text), seconds >= 0 { return seconds <= maximumSeconds ? .seconds(seconds) : nil }
        var total = Duration.zero
        var number = ""
        var unit = ""
        var parts = 0
        func flush() -> Bool {
            // Any part over the maximum makes the whole too long: no multiplication can overflow.
            guard let value = Int(number), !unit.isEmpty, value <= maximumSeconds * 1000 else { return false }
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s" where value <= maximumSeconds: total += .seconds(value)
            case "m" where value <= maximumSeconds / 60: total += .seconds(value * 60)
            case "h" where value <= maximumSeconds / 3600: total += .seconds(value * 3600)
            case "d" where value <= maximumSeconds / 86400: total += .seconds(value * 86400)
            default: return false
            }
            if total > maximum { return false }
            parts += 1
            number = ""
            unit = ""
            return true
        }
        for character in text {
            if character.isNumber {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(character)
            } else if character.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(character)
            } else {
                return nil
            }
        }
        guard flush(), parts > 0 else { return nil }
        return total
    }

    /// True when `text` is written like a duration (numbers with known units), however long:
    /// a well-formed text that does not parse is out of range.
    public static func isWellFormed(_ text: String) -> Bool {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return false }
        if text.allSatisfy(\.isNumber) { return true }
        var rest = Substring(text)
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isNumber)
            guard !digits.isEmpty else { return false }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix(while: \.isLetter)
            guard ["ms", "s", "m", "h", "d"].contains(String(unit)) else { return false }
            rest = rest.dropFirst(unit.count)
        }
        return true
    }

    /// Formats a duration the way playbooks write it (`1h30m`, `45s`, `250ms`).
    public static func format(_ duration: Duration) -> String {
        let totalMilliseconds = Int(duration.components.seconds) * 1000
            + Int(duration.components.attoseconds / 1_000_000_000_000_000)
        if totalMilliseconds < 1000 { return "\(totalMilliseconds)ms" }
        var seconds = totalMilliseconds / 1000
        var out = ""
        if seconds >= 3600 {
            out += "\(seconds / 3600)h"
            seconds %= 3600
        }
        if seconds >= 60 {
            out += "\(seconds / 60)m"
            seconds %= 60
        }
        if seconds > 0 || out.isEmpty { out += "\(seconds)s" }
        return out
    }
}
