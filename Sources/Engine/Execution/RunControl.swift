import Foundation
import Playbook
import System

/// What the engine's collaborators (``StepRunner``, ``StepActions``, ``RollbackSaga``,
/// ``HealthWatch``, ``HostLocks``) may see of a run and do to it. The run's state changes in one
/// way only: an event recorded with ``emit(_:)`` and folded into ``state``. The ``Executor`` is the
/// one implementation; collaborators run on it (`isolated`), so reading the state costs no hop.
protocol RunControl: Actor {
    /// The playbook being run, with each play's hosts and variables.
    nonisolated var playbook: ValidatedPlaybook { get }
    /// The run's options.
    nonisolated var options: RunOptions { get }
    /// Steps of the playbook by id.
    nonisolated var stepsByID: [String: Step] { get }
    /// When this controller started the run.
    nonisolated var started: Date { get }
    /// The fold of every event so far.
    var state: RunState { get }
    /// Why the run is stopping, once it is.
    var abortReason: AbortReason? { get }
    /// Another controller holds the run now: act no more.
    var fenced: Bool { get }
    /// The run's fencing token while it holds the environment lock.
    var token: String? { get }
    /// The run keeps its record of the controller's commands (``ControllerRecords``).
    var controllerRecordsHeld: Bool { get }
    /// The escalations hosts refused this run (``Escalation/refusalKey(host:)`` → why).
    var escalationRefusals: [String: String] { get set }

    /// Folds an event, appends it durably, shows it; false when it could not be recorded.
    @discardableResult func emit(_ event: RunEvent) async -> Bool
    /// Stops the run at its next safe point.
    func abort(_ reason: AbortReason, detail: String?)
    /// Asks the store whether this controller still holds the environment lock (refreshing its
    /// lease); fences the run when it does not. True when there is no store lock, or the store
    /// cannot tell now (the journal's fence decides then).
    func stillHoldsLock() async -> Bool
    /// A host's template context in a play: its variables, the run's details, its registered
    /// results and those of earlier plays' hosts.
    func hostContext(_ host: String, play: Int) -> TemplateContext
    /// The open connection to a host.
    func connection(to host: String) -> (any HostConnection)?
    /// Forgets a lost connection.
    func dropConnection(_ host: String)
    /// The connection a step delegated to `place` uses on behalf of `host` (opened on first use,
    /// host key verified, closed with the others at the end of the run).
    func delegatedConnection(to place: String, for host: String) async throws -> any HostConnection
    /// Forgets a lost delegated connection.
    func dropDelegatedConnection(to place: String, for host: String)
    /// Connects (or reconnects) to a host; the failure, or nil.
    func connect(_ host: String) async -> String?
    /// Reconnects with backoff until the reconnect deadline; the last failure, or nil.
    func reconnect(_ host: String) async -> String?
    /// Redacts these values from now on (secrets a rendered command was built from).
    func learnSecrets(_ values: [String])
    /// `text` with every known secret and derived form redacted.
    func redact(_ text: String) -> String
    /// The `run_once` step's outcome on the first host, once there is one; nil when the run stops first.
    func runOnceResult(_ step: String) async -> RunOnceResult?
    /// The first host stopped at a failure: the hosts waiting for its `run_once` results are told.
    func firstHostStopped(play: Int)
    /// Waits for one of `limit` slots of a throttled step; false when the run stops first (in a
    /// rollback, only when it is fenced).
    func acquire(_ step: String, limit: Int, inRollback: Bool) async -> Bool
    /// Gives a throttled step's slot back (to the next host waiting for it).
    func release(_ step: String)
    /// The health watch's memory of a host's logs (where each was read up to).
    func signalState(_ host: String) -> SignalState
    /// Records where a host's logs were read up to.
    func setSignalState(_ value: SignalState, for host: String)
}

extension RunControl {
    /// The environment of the run.
    nonisolated var environment: String { playbook.inventory.environment }

    /// How `step` escalates for `host` (nil: it runs as the login user).
    nonisolated func escalation(for step: Step, on host: String) -> Escalation? {
        playbook.become(for: step, on: host).map(escalation)
    }

    /// How a play's log, metric and shell probes escalate on `host`.
    nonisolated func escalation(forProbesOf play: Int, on host: String) -> Escalation? {
        playbook.become(forProbesOf: playbook.plays[min(play, playbook.plays.count - 1)].play, on: host).map(escalation)
    }

    /// The escalation for `become`, with the login user's password (its secret, or `--ask-become-pass`).
    nonisolated func escalation(_ become: Become) -> Escalation {
        EscalationCheck.escalation(become, secrets: playbook.inventory.secrets, askedPassword: options.becomePassword, promptTimeout: options.becomeTimeout)
    }

    /// A host's template context for a step (in the step's play).
    func hostContext(_ host: String, for step: Step) -> TemplateContext { hostContext(host, play: step.play) }

    /// An event of this run.
    nonisolated func event(
        _ kind: RunEvent.Kind, phase: RunEvent.Phase? = nil, batch: Int? = nil, host: String? = nil, step: Step? = nil,
        status: String? = nil, message: String? = nil, details: [String: String]? = nil
    ) -> RunEvent {
        RunEvent(
            runID: options.runID, kind: kind, phase: phase, batch: batch, host: host, step: step?.id, stepName: step?.name,
            status: status, message: message, details: details)
    }

    /// Runs `body` for each host in parallel, at most `forks` at once.
    nonisolated func eachHost<R: Sendable>(_ hosts: [String], _ body: @escaping @Sendable (String) async -> R) async -> [String: R] {
        await Concurrency.forEach(hosts, limit: options.forks, key: { $0 }, body)
    }
}
