import Playbook

/// Splits the target hosts into rolling batches as `serial:` says.
public enum Planner {
    /// Batches of host names in order; the last `serial` entry repeats until every host is placed.
    public static func batches(_ hosts: [String], serial: [BatchSize]) -> [[String]] { BatchSize.split(hosts, by: serial) }
}

/// One batch of a run: its number (counted across plays, from 1), its play and its hosts.
public struct PlannedBatch: Sendable, Hashable {
    /// 1-based, across every play of the run.
    public var number: Int
    /// The play's index.
    public var play: Int
    /// The hosts, in inventory order.
    public var hosts: [String]
    /// 1-based, within its play (what `batch.number` is in templates).
    public var numberInPlay: Int
}

extension Planner {
    /// Every play's batches in run order, numbered across plays.
    public static func schedule(_ playbook: ValidatedPlaybook) -> [PlannedBatch] {
        var out: [PlannedBatch] = []
        for play in playbook.plays {
            for (offset, hosts) in batches(play.hostNames, serial: play.play.serial).enumerated() {
                out.append(PlannedBatch(number: out.count + 1, play: play.play.index, hosts: hosts, numberInPlay: offset + 1))
            }
        }
        return out
    }

    /// The order a play's changed hosts are rolled back in: the deploy's batches (or `rollback_serial`'s)
    /// newest first, each with only the hosts that changed.
    public static func rollbackBatches(_ play: ValidatedPlay, changed: [String]) -> [[String]] {
        let set = Set(changed)
        let ordered = play.hostNames.filter { set.contains($0) } + changed.filter { !play.hostNames.contains($0) }
        let groups: [[String]]
        if let serial = play.play.rollbackSerial {
            // The sizes count from the start of the rollback: the newest hosts first, each batch in
            // inventory order; `groups` is oldest first, like the deploy's.
            let newestFirst = batches(Array(ordered.reversed()), serial: serial).map { Array($0.reversed()) }
            groups = newestFirst.reversed()
        } else {
            var placed = Set<String>()
            var deployed = batches(play.hostNames, serial: play.play.serial).map { batch in batch.filter { set.contains($0) } }
            for batch in deployed { placed.formUnion(batch) }
            let rest = ordered.filter { !placed.contains($0) }
            if !rest.isEmpty { deployed.append(rest) }
            groups = deployed
        }
        return groups.filter { !$0.isEmpty }.reversed()
    }
}
