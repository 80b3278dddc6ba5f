import Playbook

/// Splits the target hosts into rolling batches as `serial:` says.
public enum Planner {
    /// Batches of host names in order; the last `serial` entry repeats until every host is placed.
    public static func batches(_ hosts: [String], serial: [BatchSize]) -> [[String]] {
        var batches: [[String]] = []
        var remaining = hosts[...]
        var index = 0
        let total = hosts.count
        while !remaining.isEmpty {
            let size = (serial.isEmpty ? BatchSize.percent(100) : serial[min(index, serial.count - 1)]).hosts(of: total)
            batches.append(Array(remaining.prefix(size)))
            remaining = remaining.dropFirst(size)
            index += 1
        }
        return batches
    }
}
