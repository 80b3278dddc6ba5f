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
    /// - Throws: when the store cannot be read.
    public func recover(
        _ play: ValidatedPlay, _ recovery: Executor.Recovery, options: RunOptions,
        whileRunning: (@Sendable (Executor) async -> Void)? = nil
    ) async throws -> RunOutcome {
        let history = try await store.events(runID: options.runID)
        let executor = Executor(
            play: play, transport: transport, journal: try store.journal(runID: options.runID), observer: observer,
            lock: store.environmentLock, gates: gates, options: options, history: history, stateObserver: stateObserver)
        let outcome = await drive(executor, whileRunning: whileRunning) { await $0.recover(recovery) }
        return outcome
    }

    /// What `unlock` did: the store lock it released, and each host's lock directory.
    public struct UnlockReport: Sendable {
        /// The holder of the store's lock that was released, or nil when it was not locked.
        public var released: LockHeld?
        /// Per host: `released (run=...)`, `not locked`, `unreachable: ...`.
        public var hosts: [String: String]
    }

    /// Releases an environment's lock on purpose: the store's (recorded on the holder's timeline)
    /// and, for `hosts`, the lock directories on each host.
    ///
    /// - Throws: when the store's lock cannot be read or written.
    public func unlock(environment: String, operatorName: String, reason: String, hosts: [InventoryHost], forks: Int = 200)
        async throws -> UnlockReport
    {
        let released = try await store.environmentLock?.forceRelease(
            environment: environment, operatorName: operatorName, reason: reason)
        let transport = self.transport
        let results = await Concurrency.forEach(hosts, limit: forks) { host -> String in
            do {
                let connection = try await transport.connect(to: host)
                let outcome = try await connection.run(
                    HostLock.forceReleaseScript(environment: environment, host: host.name), timeout: .seconds(30), output: nil)
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
