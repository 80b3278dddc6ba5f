import Foundation

/// Durations as written in playbooks: `500ms`, `30s`, `5m`, `2h`, `1h30m`, `1d`.
public enum DurationSyntax {
    /// Parses a duration; nil when malformed. A bare number is seconds.
    public static func parse(_ text: String) -> Duration? {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        var total = Duration.zero
        var number = ""
        var unit = ""
        var parts = 0
        func flush() -> Bool {
            guard let value = Int(number), !unit.isEmpty else { return false }
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .seconds(value)
            case "m": total += .seconds(value * 60)
            case "h": total += .seconds(value * 3600)
            case "d": total += .seconds(value * 86400)
            default: return false
            }
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
