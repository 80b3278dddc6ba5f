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
