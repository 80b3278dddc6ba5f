import Foundation

/// One play of a go-live: which hosts, in which batches, and the steps of each phase. A playbook
/// runs its plays in order; a failure anywhere rolls every play back, the last play first.
public struct Play: Sendable {
    /// The play's position in the playbook (0-based).
    public var index: Int
    /// The name later plays use to read its registered values (`plays.ID.HOST.NAME`); nil in the
    /// single-play form.
    public var id: String?
    /// The play's title (the playbook's in the single-play form).
    public var name: String
    /// Host pattern the play applies to.
    public var hosts: String
    /// Where `hosts:` is.
    public var hostsLocation: SourceLocation
    /// Rolling batch sizes; the last repeats until every host is done.
    public var serial: [BatchSize]
    /// Batch sizes of the rollback (nil: the deploy's batches, in reverse order).
    public var rollbackSerial: [BatchSize]?
    /// Hosts that may fail per batch before the run stops and rolls back.
    public var maxFail: FailLimit
    /// The play's variables.
    public var vars: [String: Value]
    /// Read-only checks on every host before any change (every play's run before the first change).
    public var prechecks: [Step]
    /// Backups taken per host before its deploy steps.
    public var backup: [Step]
    /// The change itself.
    public var deploy: [Step]
    /// The watch after each batch (and after each rolled-back batch).
    public var health: Health?
    /// Extra steps after per-step rollbacks and backup restores.
    public var rollback: [Step]
    /// Where the play starts.
    public var location: SourceLocation
    /// `become*` for the play's steps (a step's own are nearer; the playbook's and the inventory's further).
    public var become = BecomeSettings()

    /// Every step of every section, in order.
    public var allSteps: [Step] { prechecks + backup + deploy + rollback }

    /// Hosts in rolling batches as `serial` says; the last size repeats until every host is placed.
    public func batches(of hosts: [String]) -> [[String]] { BatchSize.split(hosts, by: serial) }

    /// The play's label on the console and in documents: its id and name, or its name alone.
    public var label: String { id.map { $0 == name ? $0 : "\($0) (\(name))" } ?? name }
}
