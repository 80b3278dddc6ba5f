import Foundation
import Playbook

/// What the log and metric probes remember about one host during a run.
struct SignalState: Sendable {
    /// Where each log probe (by probe index) has read up to: the file's inode and byte offset.
    var positions: [Int: (inode: String, offset: Int)] = [:]
    /// Each log probe's matching-line counts, by round, for the sliding window.
    var counts: [Int: [(time: Date, count: Int)]] = [:]
    /// Baselines from the prechecks: `"I.J"` for metric I's condition J, `"I"` for log probe I
    /// (matching lines per `per`).
    var baselines: [String: Double] = [:]
}
