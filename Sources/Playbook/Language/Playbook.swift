import Foundation

/// A go-live: its title, window and sign-off, and its plays, run in order inside one window, one
/// lock and one timeline, with one rollback saga across them all.
public struct Playbook: Sendable {
    /// The file it was read from.
    public var file: String
    /// Title, as rendered for the run (placeholders filled from the first host's variables).
    public var name: String
    /// The title as written: a template (`webapp {{ version }} go-live`).
    public var title: Template?
    /// The maintenance window.
    public var window: Window?
    /// `notify:`: who is told of its runs (besides the inventory's targets).
    public var notify: [NotifyTarget] = []
    /// Optional document metadata.
    public var metadata: Metadata
    /// Variables every play sees (a play's own `vars` override them).
    public var vars: [String: Value]
    /// The plays, in the order they run; one for the single-play form.
    /// `become*` for every play (a play's and a step's own are nearer; the inventory's further).
    public var become = BecomeSettings()
    public var plays: [Play]
    /// The file has a `plays:` list (step ids then name their play: `web.deploy[2]`).
    public var hasPlayList: Bool

    /// Every step of every play, in order.
    public var allSteps: [Step] { plays.flatMap(\.allSteps) }

    /// The play a step belongs to.
    public func play(of step: Step) -> Play { plays[min(step.play, plays.count - 1)] }
}

/// Sign-off metadata.
public struct Metadata: Sendable, Hashable {
    /// Who owns the change.
    public var owner: String?
    /// Change ticket.
    public var changeID: String?
    /// What the change is.
    public var description: String?
    /// People to call.
    public var contacts: [String] = []
}

/// One `serial:` entry.
public enum BatchSize: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    /// `hosts` in rolling batches of these sizes in order; the last size repeats until every host is placed.
    public static func split(_ hosts: [String], by serial: [BatchSize]) -> [[String]] {
        var batches: [[String]] = []
        var remaining = hosts[...]
        var index = 0
        while !remaining.isEmpty {
            let size = (serial.isEmpty ? BatchSize.percent(100) : serial[min(index, serial.count - 1)]).hosts(of: hosts.count)
            batches.append(Array(remaining.prefix(size)))
            remaining = remaining.dropFirst(size)
            index += 1
        }
        return batches
    }

    /// Hosts in a batch of this size, out of `total` (at least 1).
    public func hosts(of total: Int) -> Int {
        switch self {
        case .count(let count): max(1, count)
        case .percent(let percent): max(1, (total * percent) / 100)
        }
    }

    public var description: String {
        switch self {
        case .count(let count): "\(count)"
        case .percent(let percent): "\(percent)%"
        }
    }
}

/// `max_fail:`: a count or a percentage of the batch's hosts that may fail.
public enum FailLimit: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    /// The number of hosts allowed to fail in a batch of `size`.
    public func allowed(inBatchOf size: Int) -> Int {
        switch self {
        case .count(let count): count
        case .percent(let percent): (size * percent) / 100
        }
    }

    public var description: String {
        switch self {
        case .count(let count): "\(count)"
        case .percent(let percent): "\(percent)%"
        }
    }
}

/// The agreed maintenance window.
public struct Window: Sendable, Hashable {
    /// Opens.
    public var start: Date
    /// Closes.
    public var end: Date
    /// Time kept back for a rollback: rollback starts no later than `end - rollbackReserve`.
    public var rollbackReserve: Duration
    /// The service downtime announced for the window (documents only; golive does not measure it).
    public var downtime: Duration?
    /// Where the window is declared.
    public var location: SourceLocation

    /// `end - rollbackReserve`.
    public var rollbackPoint: Date { end.addingTimeInterval(-rollbackReserve.seconds) }
}

/// The health watch after each batch.
public struct Health: Sendable, Hashable {
    /// Time between probe rounds.
    public var interval: Duration
    /// How long the watch lasts.
    public var duration: Duration
    /// Consecutive failed rounds tolerated per host.
    public var failuresAllowed: Int
    /// The probes of each round.
    public var probes: [Probe]
}

/// A health probe: `http`, `tcp`, `shell`, `log` or `metric`.
public struct Probe: Sendable, Hashable {
    /// What to check.
    public enum Check: Sendable, Hashable {
        case http(HTTPCheck)
        case tcp(TCPCheck)
        case shell(Template)
        /// Matching lines appended to a log file (see ``LogCheck``).
        case log(LogCheck)
        /// Figures read from the host (see ``MetricCheck``).
        case metric(MetricCheck)
    }

    /// The check.
    public var check: Check
    /// Display name.
    public var name: String
    /// Where it is declared.
    public var location: SourceLocation
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
