import Foundation

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
            guard let value = Double(number), value.isFinite else { return nil }
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
