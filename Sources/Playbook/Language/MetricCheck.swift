import Foundation

/// A metric probe: figures read from the host (`/proc/loadavg`, `/proc/meminfo`, `df`) or printed
/// by a command, each held to a threshold.
public struct MetricCheck: Sendable, Hashable {
    /// The conditions, each on one figure.
    public var conditions: [MetricCondition]
}
