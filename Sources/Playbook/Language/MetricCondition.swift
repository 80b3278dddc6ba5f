import Foundation

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
