import Foundation
import Playbook

/// One go-live command from start to end — `run`, `rehearse`, `check`, `resume`, `rollback` — wired
/// in one place: a store (journal and lock), a transport, the console and the gates. The CLI and
/// the test support both drive runs through it, so every kind of run is stopped, recorded and
/// recovered the same way.
public final class RunSession: Sendable {
    /// Where the run is recorded.
    public let store: any RunStore
    /// How hosts are reached.
    public let transport: any Transport
    /// Who sees the events as they happen.
    public let observer: (any RunObserver)?
    /// Who answers gates (nil: a gate without `--yes` is a no).
    public let gates: (any GateAnswerer)?
    /// Called with each event and the state after it (tests).
    public let stateObserver: (@Sendable (RunEvent, RunState) -> Void)?
    private let current = CurrentExecutor()

    /// Creates a session.
    public init(
        store: any RunStore, transport: any Transport, observer: (any RunObserver)? = nil, gates: (any GateAnswerer)? = nil,
        stateObserver: (@Sendable (RunEvent, RunState) -> Void)? = nil
    ) {
        self.store = store
        self.transport = transport
        self.observer = observer
        self.gates = gates
        self.stateObserver = stateObserver
    }

    /// Runs `play` (a new run: `options.kind` is run, rehearse or check) to its end.
    ///
    /// - Parameter whileRunning: called with the executor once it exists (tests: to abort it, watch it).
    /// - Returns: the outcome; a store that cannot be written gives `.failed`.
    public func run(
        _ play: ValidatedPlay, options: RunOptions, whileRunning: (@Sendable (Executor) async -> Void)? = nil
    ) async -> RunOutcome {
        let journal: any Journal
        do {
            journal = try store.journal(runID: options.runID)
        } catch {
            return RunOutcome(result: .failed, reason: "cannot open the timeline in \(store.location): \(error)")
        }
        let executor = Executor(
            play: play, transport: transport, journal: journal, observer: observer, lock: store.environmentLock, gates: gates,
            options: options, stateObserver: stateObserver)
        return await drive(executor, whileRunning: whileRunning) { await $0.run() }
    }

    /// Continues (`.resume`) or rolls back (`.rollback`) run `options.runID` from its journal.
    ///
    /// Nothing is touched, and nothing recorded, when ``RecoveryGuard`` refuses (the run may
    /// still be alive) or the plan rebuilt from today's playbook differs from the run's.
    /// - Parameter force: take the run over from a controller process that is still alive (once
    ///   its lease has run out).
    /// - Throws: when the store cannot be read.
    public func recover(
        _ play: ValidatedPlay, _ recovery: Executor.Recovery, options: RunOptions, force: Bool = false,
        whileRunning: (@Sendable (Executor) async -> Void)? = nil
    ) async throws -> RunOutcome {
        let history = try await store.events(runID: options.runID)
        let state = RunState.replay(history, runID: options.runID)
        let holder = try await store.environmentLock?.holder(of: play.inventory.environment)
        let takeover: Executor.Takeover
        switch RecoveryGuard.decide(state, holder: holder, force: force) {
        case .refuse(let reason):
            return RunOutcome(result: .refused, reason: reason)
        case .proceed(let replacing, let note):
            let (store, runID) = (self.store, options.runID)
            takeover = Executor.Takeover(replacing: replacing, note: note, reload: { try await store.events(runID: runID) })
        }
        if let refusal = try await planRefusal(play, state: state) {
            return RunOutcome(result: .refused, reason: refusal)
        }
        let executor = Executor(
            play: play, transport: transport, journal: try store.journal(runID: options.runID), observer: observer,
            lock: store.environmentLock, gates: gates, options: options, history: history, stateObserver: stateObserver)
        return await drive(executor, whileRunning: whileRunning) { await $0.recover(recovery, takeover: takeover) }
    }

    /// Why a recovery with today's playbook and inventory would not undo (or finish) what the run
    /// did: its plan changed, or a step it started is no longer the step at that index. Nil when it is the same.
    func planRefusal(_ play: ValidatedPlay, state: RunState) async throws -> String? {
        let steps = Dictionary(play.playbook.allSteps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for host in state.hostOrder {
            for started in state[host].started {
                guard let key = started.key else { continue }
                guard let step = steps[started.id], StepIdentity.key(step) == key else {
                    return "the playbook changed since run \(state.runID) started: \(started.id) ('\(started.name)', started on \(host)) "
                        + "is \(steps[started.id].map { "now '\($0.name)', a different step" } ?? "gone"); nothing was touched. "
                        + "Put the playbook back as it was when the run started, then recover again"
                }
            }
        }
        guard let recorded = state.info?.planFingerprint else { return nil }
        let plan = ResolvedPlan(play)
        guard plan.fingerprint != recorded else { return nil }
        var text = "the plan changed since run \(state.runID) started (fingerprint \(recorded), now \(plan.fingerprint)); nothing was touched"
        if let old = try await store.plan(fingerprint: recorded) {
            let changes = plan.changes(from: old)
            text += "; what changed: " + changes.prefix(20).joined(separator: "; ") + (changes.count > 20 ? "; and \(changes.count - 20) more" : "")
        }
        return text + ". Put the playbook and inventory (and -e values) back as they were when the run started, then recover again"
    }

    /// What `unlock` did: the store lock it released, and each host's lock directory.
    public struct UnlockReport: Sendable {
        /// Why nothing was released (the holder's lease is fresh and `--force` was not given).
        public var refused: String?
        /// The holder of the store's lock that was released, or nil when it was not locked.
        public var released: LockHeld?
        /// Per host: `released (run=...)`, `not locked`, `unreachable: ...`.
        public var hosts: [String: String] = [:]
    }

    /// Releases an environment's lock on purpose: the store's (recorded on the holder's timeline,
    /// and the holder's run fenced: a live controller can record nothing more) and, for `hosts`,
    /// the lock directories on each host (its commands then refuse to run there). A lock whose run
    /// may still act (``RecoveryGuard/aliveRefusal(_:force:now:)``) is refused unless `force`.
    ///
    /// - Throws: when the store's lock cannot be read or written.
    public func unlock(
        environment: String, operatorName: String, reason: String, hosts: [InventoryHost], force: Bool = false, forks: Int = 200
    ) async throws -> UnlockReport {
        if !force, let holder = try await store.environmentLock?.holder(of: environment),
            let alive = RecoveryGuard.aliveRefusal(holder, force: false)
        {
            return UnlockReport(
                refused: "the lock on \(environment) is held by a live run: \(alive). Stop that run (Ctrl-C rolls it back), "
                    + "or add --force to release its lock anyway (it is then fenced out)")
        }
        let released = try await store.environmentLock?.forceRelease(
            environment: environment, operatorName: operatorName,
            reason: reason + (force ? " (--force)" : ""))
        let transport = self.transport
        let results = await Concurrency.forEach(hosts, limit: forks) { host -> String in
            do {
                let connection = try await transport.connect(to: host)
                let outcome = try await connection.run(HostLock.forceReleaseScript(), timeout: .seconds(30), output: nil)
                await connection.close()
                let first = outcome.stdoutText.split(separator: "\n").first.map(String.init) ?? ""
                return first == "none" ? "not locked" : "released (\(first))"
            } catch {
                return "unreachable: \(error)"
            }
        }
        return UnlockReport(released: released, hosts: results)
    }

    /// Stops the run in progress at its next safe point and rolls back (Ctrl-C, SIGTERM).
    public func abort(_ reason: AbortReason, detail: String?) async {
        await current.executor?.abort(reason, detail: detail)
    }

    private func drive(
        _ executor: Executor, whileRunning: (@Sendable (Executor) async -> Void)?,
        _ body: @Sendable (Executor) async -> RunOutcome
    ) async -> RunOutcome {
        current.executor = executor
        defer { current.executor = nil }
        let watcher = whileRunning.map { watch in Task { await watch(executor) } }
        let outcome = await body(executor)
        watcher?.cancel()
        return outcome
    }
}

/// The executor of the session's run in progress, for `abort` from a signal handler.
final class CurrentExecutor: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Executor?

    var executor: Executor? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
