import Foundation

/// A log probe: lines matching `match` appended to `path` after the batch's deploy, counted per
/// host over a sliding window of `per`; a round fails when the count exceeds `max`.
public struct LogCheck: Sendable, Hashable {
    /// The log file on the host.
    public var path: Template
    /// An extended regular expression (as `grep -E`).
    public var match: String
    /// The most matching lines allowed within `per`.
    public var max: Bound
    /// The window the lines are counted over.
    public var per: Duration
}

/// A metric probe: figures read from the host (`/proc/loadavg`, `/proc/meminfo`, `df`) or printed
/// by a command, each held to a threshold.
public struct MetricCheck: Sendable, Hashable {
    /// The conditions, each on one figure.
    public var conditions: [MetricCondition]
}

/// One figure and its threshold.
public struct MetricCondition: Sendable, Hashable {
    /// Where the figure comes from.
    public enum Source: Sendable, Hashable {
        /// The 1-minute load average.
        case load1
        /// `MemAvailable` from /proc/meminfo, in bytes.
        case memAvailable
        /// Free bytes on the filesystem holding the path.
        case diskFree(Template)
        /// The last number a command prints.
        case command(Template)
    }

    /// The figure.
    public var source: Source
    /// Its threshold.
    public var threshold: Threshold

    /// The figure's name as shown (`load1`, `mem_available`, `disk_free`, `value`).
    public var name: String {
        switch source {
        case .load1: "load1"
        case .memAvailable: "mem_available"
        case .diskFree: "disk_free"
        case .command: "value"
        }
    }

    /// True for figures in bytes (shown as MB/GB).
    public var isBytes: Bool {
        switch source {
        case .memAvailable, .diskFree: true
        default: false
        }
    }
}

/// A limit: a number, or relative to the baseline measured during the prechecks.
public enum Bound: Sendable, Hashable, CustomStringConvertible {
    /// A fixed number.
    case number(Double)
    /// `baseline * factor + offset`.
    case baseline(factor: Double, offset: Double)

    /// The limit's value given the baseline (nil when it needs one that is not known).
    public func value(baseline: Double?) -> Double? {
        switch self {
        case .number(let number): number
        case .baseline(let factor, let offset): baseline.map { $0 * factor + offset }
        }
    }

    /// True when it refers to the baseline.
    public var needsBaseline: Bool { if case .baseline = self { true } else { false } }

    public var description: String {
        switch self {
        case .number(let number): ByteSize.format(number, bytes: false)
        case .baseline(let factor, let offset):
            "baseline" + (factor != 1 ? " * \(ByteSize.format(factor, bytes: false))" : "")
                + (offset != 0 ? (offset > 0 ? " + " : " - ") + ByteSize.format(abs(offset), bytes: false) : "")
        }
    }

    /// Parses `12`, `500MB`, `baseline`, `baseline * 2`, `baseline + 50`, `baseline * 1.5 + 10`.
    public static func parse(_ text: String) -> Bound? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("baseline") else { return ByteSize.parse(trimmed).map(Bound.number) }
        var rest = Substring(trimmed.dropFirst("baseline".count)).trimmingCharacters(in: .whitespaces)[...]
        var factor = 1.0, offset = 0.0
        if rest.hasPrefix("*") {
            let tail = rest.dropFirst().trimmingCharacters(in: .whitespaces)
            let number = tail.prefix { !$0.isWhitespace && $0 != "+" && $0 != "-" }
            guard let value = Double(number) else { return nil }
            factor = value
            rest = tail.dropFirst(number.count).trimmingCharacters(in: .whitespaces)[...]
        }
        if let sign = rest.first, sign == "+" || sign == "-" {
            guard let value = ByteSize.parse(rest.dropFirst().trimmingCharacters(in: .whitespaces)) else { return nil }
            offset = sign == "+" ? value : -value
            rest = ""
        }
        return rest.isEmpty ? .baseline(factor: factor, offset: offset) : nil
    }
}

/// `< 4`, `>= 500MB`, `< baseline * 2`.
public struct Threshold: Sendable, Hashable, CustomStringConvertible {
    /// The comparison.
    public enum Comparison: String, Sendable, Hashable, CaseIterable {
        case atMost = "<=", atLeast = ">=", below = "<", above = ">"
    }

    /// How the figure compares.
    public var comparison: Comparison
    /// With what.
    public var bound: Bound

    /// Creates a threshold.
    public init(_ comparison: Comparison, _ bound: Bound) {
        self.comparison = comparison
        self.bound = bound
    }

    /// Whether `value` meets the threshold; nil when the bound needs a baseline that is not known.
    public func holds(_ value: Double, baseline: Double?) -> Bool? {
        guard let limit = bound.value(baseline: baseline) else { return nil }
        switch comparison {
        case .below: return value < limit
        case .atMost: return value <= limit
        case .above: return value > limit
        case .atLeast: return value >= limit
        }
    }

    public var description: String { "\(comparison.rawValue) \(bound)" }

    /// Parses `< 4`, `>= 2GB`, `> baseline * 0.5`.
    public static func parse(_ text: String) -> Threshold? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for comparison in Comparison.allCases where trimmed.hasPrefix(comparison.rawValue) {
            return Bound.parse(String(trimmed.dropFirst(comparison.rawValue.count))).map { Threshold(comparison, $0) }
        }
        return nil
    }
}

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
            return Double(number).map { $0 * scale }
        }
        return Double(trimmed)
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
