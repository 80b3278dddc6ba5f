import Foundation

/// One recorded run, as every store keeps it: the row `runs` lists and every command that names a
/// run reads.
public struct RunRecord: Sendable, Hashable {
    /// Run id.
    public var id: String
    /// Playbook title.
    public var playbook: String
    /// Playbook file.
    public var playbookFile: String
    /// Inventory file (the first, when several were given).
    public var inventoryFile: String
    /// Environment.
    public var environment: String
    /// run, rehearse, check, rollback.
    public var kind: String
    /// running, succeeded, rolled-back, refused, needs-attention, interrupted, failed.
    public var status: String
    /// Exit code once finished.
    public var exitCode: Int?
    /// Who.
    public var operatorName: String
    /// Controller host and pid (`laptop pid 123`).
    public var controller: String
    /// Start.
    public var started: Date
    /// End.
    public var finished: Date?
    /// Why it stopped.
    public var reason: String?
    /// Target hosts.
    public var hosts: [String]
    /// `--var` values (JSON).
    public var vars: String

    /// Creates a record.
    public init(
        id: String, playbook: String, playbookFile: String, inventoryFile: String, environment: String, kind: String,
        status: String, exitCode: Int? = nil, operatorName: String, controller: String, started: Date, finished: Date? = nil,
        reason: String? = nil, hosts: [String], vars: String = "{}"
    ) {
        self.id = id
        self.playbook = playbook
        self.playbookFile = playbookFile
        self.inventoryFile = inventoryFile
        self.environment = environment
        self.kind = kind
        self.status = status
        self.exitCode = exitCode
        self.operatorName = operatorName
        self.controller = controller
        self.started = started
        self.finished = finished
        self.reason = reason
        self.hosts = hosts
        self.vars = vars
    }

    /// Wall time so far or in all.
    public var duration: TimeInterval { (finished ?? Date()).timeIntervalSince(started) }
}
