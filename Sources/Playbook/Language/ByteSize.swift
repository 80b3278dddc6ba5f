import Foundation

/// Sizes with units: `500MB`, `2GB`, `1.5G`, `64KB`, `100` (1024-based).
public enum ByteSize {
    static let units: [(String, Double)] = [
        ("TB", 1_099_511_627_776), ("GB", 1_073_741_824), ("MB", 1_048_576), ("KB", 1024), ("T", 1_099_511_627_776),
        ("G", 1_073_741_824), ("M", 1_048_576), ("K", 1024), ("B", 1),
    ]

    /// The number, with a unit multiplied in.
    public static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (unit, scale) in units where trimmed.uppercased().hasSuffix(unit) {
            let number = trimmed.dropLast(unit.count).trimmingCharacters(in: .whitespaces)
            return finite(Double(number).map { $0 * scale })
        }
        return finite(Double(trimmed))
    }

    /// Only figures a comparison can use: `nan`, `inf` and numbers past `Double`'s range are none.
    private static func finite(_ value: Double?) -> Double? {
        guard let value, value.isFinite else { return nil }
        return value
    }

    /// `1.5 GB` for bytes; `0.52` or `12` for plain figures.
    public static func format(_ value: Double, bytes: Bool) -> String {
        if bytes {
            for (unit, scale) in units.prefix(4) where abs(value) >= scale { return String(format: "%.1f", value / scale) + " " + unit }
            return String(format: "%.0f B", value)
        }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.2f", value)
    }
}
