import Foundation
import Playbook

/// One round's readings on a host, parsed from the signal script's output.
struct SignalReadings: Sendable {
    /// Per log probe: inode and size now, lines matched since the last position, newest lines.
    var logs: [Int: (inode: String, size: Int, count: Int, lines: [String])] = [:]
    /// Per metric condition `"I.J"`: the value read (nil when none could be read).
    var metrics: [String: Double?] = [:]
}
