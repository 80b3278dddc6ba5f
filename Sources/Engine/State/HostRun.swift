import Foundation
import Playbook

/// One host's part of a run, as folded from the run's events by ``RunState/apply(_:)``.
public struct HostRun: Sendable, Hashable {
    /// What the host is doing right now (for the console).
    public enum Activity: Sendable, Hashable {
        /// Nothing in flight.
        case idle
        /// A step is running (its name).
        case running(String)
        /// A rollback action is running (its name).
        case rollingBack(String)
    }

    /// Inventory name.
    public var name: String
    /// Its batch (1-based), when known.
    public var batch: Int?
    /// Where it stands.
    public var state: HostState = .pending
    /// Connected now (a lost connection clears it until a reconnect).
    public var connected = false
    /// The last connection attempt failed.
    public var unreachable = false
    /// How the last connection was made.
    public var connection: ConnectionDetails?
    /// Registered results by name, `run_once` results shared from the first host included.
    public var registered: [String: Value] = [:]
    /// Backup and deploy steps started, in order: what a rollback undoes, in reverse.
    public var started: [StartedStep] = []
    /// Recorded `archive` backups by step id.
    public var archives: [String: BackupDetails] = [:]
    /// Steps confirmed done (finished `ok` or skipped): a resumed run skips them.
    public var confirmed: Set<String> = []
    /// Step attempts started and not confirmed finished, by step id.
    public var open: [String: OpenStep] = [:]
    /// The baselines of the log and metric probes, measured in the pre-checks.
    public var baselines: [String: Double] = [:]
    /// This run holds the environment's lock on the host.
    public var lockHeld = false
    /// Why it failed, when it did (a step, the health watch).
    public var failure: String?
    /// Rollback actions started and not finished: step id → attempt.
    public var openUndos: [String: Int] = [:]
    /// Rollback actions that finished `ok` in this run, by step id.
    public var undone: Set<String> = []
    /// Steps undone when its rollback completed (for the report).
    public var undoneCount = 0
    /// Started steps a rollback found nothing to undo with (no `rollback:`, no archive), by name.
    public var notUndone: [String] = []
    /// What it is doing now.
    public var activity: Activity = .idle
    /// The current or last step's name.
    public var lastStep = ""
    /// The last step's status.
    public var lastStatus: StepStatus?
    /// Backup and deploy steps started so far (first attempts).
    public var stepsStarted = 0

    /// Creates a host's record.
    public init(name: String, batch: Int? = nil) {
        self.name = name
        self.batch = batch
    }

    /// True when it has started steps that have not been rolled back.
    public var isChanged: Bool { !started.isEmpty && state != .rolledBack }

    /// The state shown in a final report: `pending` becomes `unchanged`.
    public var reportedState: HostState { state == .pending ? .unchanged : state }
}
