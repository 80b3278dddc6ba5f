import Foundation
import Playbook

/// What the log probes remember about one host while a health watch follows its logs (the
/// baselines are run state: ``HostRun/baselines``).
struct SignalState: Sendable {
    /// Where each log probe (by probe index) has read up to: the file's inode and byte offset.
    var positions: [Int: (inode: String, offset: Int)] = [:]
    /// Each log probe's matching-line counts, by round, for the sliding window.
    var counts: [Int: [(time: Date, count: Int)]] = [:]
}
