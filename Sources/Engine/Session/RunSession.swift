import Foundation
import Playbook
import System

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
        _ play: ValidatedPlaybook, options: RunOptions, whileRunning: (@Sendable (Executor) async -> Void)? = nil
    ) async -> RunOutcome {
        let journal: any Journal
        do {
            journal = try await store.journal(runID: options.runID)
        } catch {
            return RunOutcome(result: .failed, reason: "cannot open the timeline in \(store.location): \(error)")
        }
        let executor = Executor(
            playbook: play, transport: transport, journal: journal, observer: observer, lock: store.environmentLock, gates: gates, mailbox: store.gateMailbox,
            options: options, stateObserver: stateObserver)
        var outcome = await drive(executor, whileRunning: whileRunning) { await $0.run() }
        if outcome.result == .refused, let hint = await staleLockHint(play) {
            outcome.reason = (outcome.reason ?? "") + "; " + hint
        }
        return outcome
    }

    /// The next command for a stale environment lock, spelled in full: its run changed hosts →
    /// roll them back; it changed nothing → release its locks.
    func staleLockHint(_ play: ValidatedPlaybook) async -> String? {
        // Stale, or its controller is known to be gone: not alive either way.
        guard let holder = try? await store.environmentLock?.holder(of: play.inventory.environment),
            RecoveryGuard.aliveRefusal(holder, force: false) == nil
        else { return nil }
        let held = RunState.replay((try? await store.events(runID: holder.runID)) ?? [], runID: holder.runID)
        let store = ShellQuote.quote(self.store.location)
        if !held.changedHosts.isEmpty {
            return "its controller is gone and it changed \(held.changedHosts.joined(separator: ", ")): roll that back with "
                + "`golive resume \(holder.runID) --rollback --store \(store)`"
        }
        return "its controller is gone and it changed nothing: release its locks with "
            + "`golive unlock \(play.inventory.environment) --reason \"controller lost\" -i \(ShellQuote.quote(play.inventory.file)) --store \(store)`"
    }

    /// Continues (`.resume`) or rolls back (`.rollback`) run `options.runID` from its journal.
    ///
    /// Nothing is touched, and nothing recorded, when ``RecoveryGuard`` refuses (the run may
    /// still be alive) or the plan rebuilt from today's playbook differs from the run's.
    /// - Parameter force: take the run over from a controller process that is still alive (once
    ///   its lease has run out).
    /// - Throws: when the store cannot be read.
    public func recover(
        _ play: ValidatedPlaybook, _ recovery: Executor.Recovery, options: RunOptions, force: Bool = false,
        whileRunning: (@Sendable (Executor) async -> Void)? = nil
    ) async throws -> RunOutcome {
        // With --lock-wait, a lease that is still fresh is waited out (a controller on another
        // machine cannot be asked whether it lives: its lease is the answer), then decided again.
        let deadline = Date().addingTimeInterval(options.lockWait?.seconds ?? 0)
        var history: [RunEvent] = []
        var state = RunState.replay([], runID: options.runID)
        var takeover: Executor.Takeover?
        for _ in 0..<10_000 {
            history = try await store.events(runID: options.runID)
            state = RunState.replay(history, runID: options.runID)
            let holder = try await store.environmentLock?.holder(of: play.inventory.environment)
            switch RecoveryGuard.decide(state, holder: holder, force: force) {
            case .refuse(let reason):
                return RunOutcome(result: .refused, reason: reason)
            case .refuseUntil(let until, let reason):
                guard until < deadline else { return RunOutcome(result: .refused, reason: reason) }
                // A refreshed lease moves `until` on: each look is bounded, and so is the wait.
                try? await Task.sleep(for: .milliseconds(Int(min(1, max(0.05, until.timeIntervalSinceNow + 0.05)) * 1000)))
                continue
            case .proceed(let replacing, let note):
                let (store, runID) = (self.store, options.runID)
                takeover = Executor.Takeover(replacing: replacing, note: note, reload: { try await store.events(runID: runID) })
            }
            break
        }
        guard let takeover else { return RunOutcome(result: .refused, reason: "run \(options.runID) is still held") }
        if let refusal = try await planRefusal(play, state: state) {
            return RunOutcome(result: .refused, reason: refusal)
        }
        let executor = Executor(
            playbook: play, transport: transport, journal: try await store.journal(runID: options.runID), observer: observer,
            lock: store.environmentLock, gates: gates, mailbox: store.gateMailbox, options: options, history: history, stateObserver: stateObserver)
        return await drive(executor, whileRunning: whileRunning) { await $0.recover(recovery, takeover: takeover) }
    }

    /// Why a recovery with today's playbook and inventory would not undo (or finish) what the run
    /// did: its plan changed, or a step it started is no longer the step at that index. Nil when it is the same.
    func planRefusal(_ play: ValidatedPlaybook, state: RunState) async throws -> String? {
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
        if !force, let holder = try await store.environmentLock?.holder(of: environment) {
            if let alive = RecoveryGuard.aliveRefusal(holder, force: false) {
                return UnlockReport(
                    refused: "the lock on \(environment) is held by a live run: \(alive). Stop that run (Ctrl-C rolls it back), "
                        + "or add --force to release its lock anyway (it is then fenced out)")
            }
            // A dead run that changed hosts needs a rollback, not an unlock: unlocking would let the
            // next run start on hosts left half-changed.
            let held = RunState.replay((try? await store.events(runID: holder.runID)) ?? [], runID: holder.runID)
            if !held.changedHosts.isEmpty {
                return UnlockReport(
                    refused: "run \(holder.runID), which holds the lock on \(environment), changed \(held.changedHosts.joined(separator: ", ")) "
                        + "and was not rolled back: roll it back with `golive resume \(holder.runID) --rollback --store \(ShellQuote.quote(store.location))` "
                        + "(--force releases the lock anyway and leaves those hosts as they are)")
            }
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
                let lines = outcome.stdoutText.split(separator: "\n").map(String.init)
                let first = lines.first ?? ""
                let stopped = lines.dropFirst().filter { $0.hasPrefix("STOPPED") || $0.hasPrefix("KILLED") }.count
                let foreign = lines.dropFirst().filter { $0.hasPrefix("FOREIGN") }.count
                if let left = lines.first(where: { $0.hasPrefix("NOT-REMOVED") }) {
                    return "NOT released (\(first)): this login could not remove the lock directory (\(left.dropFirst("NOT-REMOVED ".count))); "
                        + "remove it there as its owner or root"
                }
                return first == "none"
                    ? "not locked"
                    : "released (\(first))" + (stopped > 0 ? "; \(stopped) command(s) it left running stopped" : "")
                        + (foreign > 0
                            ? "; \(foreign) command(s) it left run on as another user (become): recover the run with `golive resume RUN --rollback` instead, or stop them as root"
                            : "")
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
