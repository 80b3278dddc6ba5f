import Foundation

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
