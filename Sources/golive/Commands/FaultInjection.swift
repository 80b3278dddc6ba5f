import Engine
import Foundation

/// Fault injection for the reliability tests: `GOLIVE_FAULT_KILL_AFTER_EVENTS=N` makes the controller
/// SIGKILL itself right after its Nth event is durable, as if the laptop died at that point;
/// `GOLIVE_FAULT_STOP_AFTER_EVENTS=N` makes it SIGSTOP itself there once, as if it were paused
/// (a suspended laptop, a partition) until something sends it SIGCONT.
final class KillingJournal: Journal, @unchecked Sendable {
    private let inner: any Journal
    private let limit: Int
    private let signal: Int32
    private let lock = NSLock()
    private var count = 0
    /// With a pause asked for, one append (or lease refresh) at a time goes through to the store:
    /// the pause then never lands while another write of this controller holds the store's write
    /// lock (a SQLite store would stay locked for everyone until the controller is woken).
    private let turnstile: Turnstile?

    /// The point asked for and the signal sent there, if any.
    static var fault: (limit: Int, signal: Int32)? {
        let environment = ProcessInfo.processInfo.environment
        for (name, signal) in [("GOLIVE_FAULT_KILL_AFTER_EVENTS", SIGKILL), ("GOLIVE_FAULT_STOP_AFTER_EVENTS", SIGSTOP)] {
            if let text = environment[name], let limit = Int(text), limit > 0 { return (limit, signal) }
        }
        return nil
    }

    init(inner: any Journal, limit: Int, signal: Int32, turnstile: Turnstile?) {
        self.inner = inner
        self.limit = limit
        self.signal = signal
        self.turnstile = turnstile
    }

    @discardableResult
    func append(_ event: RunEvent) async throws -> Int64 {
        guard let turnstile else { return try await appendThenSignal(event) }
        return try await turnstile.passing { try await self.appendThenSignal(event) }
    }

    private func appendThenSignal(_ event: RunEvent) async throws -> Int64 {
        let sequence = try await inner.append(event)
        let reached = lock.withLock {
            count += 1
            return signal == SIGKILL ? count >= limit : count == limit
        }
        if reached { kill(getpid(), signal) }
        return sequence
    }
}

/// A first-come, first-served async mutex (the fault journal's and its lock's writes, one at a time).
actor Turnstile {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    /// Runs `body` alone: no other `passing` body runs until it has returned or thrown.
    nonisolated func passing<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await enter()
        do {
            let result = try await body()
            await leave()
            return result
        } catch {
            await leave()
            throw error
        }
    }
}

/// The store's environment lock, its lease refreshes through the fault journal's turnstile when a
/// pause is asked for.
struct KillingLock: EnvironmentLock {
    let inner: any EnvironmentLock
    let turnstile: Turnstile?

    func acquire(_ request: LockRequest) async throws -> String { try await inner.acquire(request) }
    func refresh(environment: String, token: String) async throws -> Bool {
        guard let turnstile else { return try await inner.refresh(environment: environment, token: token) }
        return try await turnstile.passing { try await inner.refresh(environment: environment, token: token) }
    }
    func release(environment: String, token: String) async throws { try await inner.release(environment: environment, token: token) }
    func holder(of environment: String) async throws -> LockHeld? { try await inner.holder(of: environment) }
    func forceRelease(environment: String, operatorName: String, reason: String) async throws -> LockHeld? {
        try await inner.forceRelease(environment: environment, operatorName: operatorName, reason: reason)
    }
}

/// A store whose journals are ``KillingJournal``s when the fault is asked for.
struct KillingStore: RunStore {
    let inner: any RunStore
    let limit: Int
    let signal: Int32
    let turnstile = Turnstile()

    /// Wraps `store` when a fault is asked for; returns it unchanged otherwise.
    static func wrap(_ store: any RunStore) -> any RunStore {
        guard let fault = KillingJournal.fault else { return store }
        return KillingStore(inner: store, limit: fault.limit, signal: fault.signal)
    }

    var location: String { inner.location }
    /// Writes go one at a time only when the controller is to pause (see ``KillingJournal``).
    private var serialized: Turnstile? { signal == SIGSTOP ? turnstile : nil }
    var environmentLock: (any EnvironmentLock)? { inner.environmentLock.map { KillingLock(inner: $0, turnstile: serialized) } }
    func journal(runID: String) async throws -> any Journal {
        KillingJournal(inner: try await inner.journal(runID: runID), limit: limit, signal: signal, turnstile: serialized)
    }
    func events(runID: String, after: Int64) async throws -> [RunEvent] { try await inner.events(runID: runID, after: after) }
    func runs(limit: Int, kind: String?) async throws -> [RunRecord] { try await inner.runs(limit: limit, kind: kind) }
    func run(_ id: String) async throws -> RunRecord? { try await inner.run(id) }
    func artifacts(runID: String) async throws -> [Artifact] { try await inner.artifacts(runID: runID) }
    func finishedRehearsals(playbookFile: String, limit: Int, before: Date?) async throws -> [RunRecord] {
        try await inner.finishedRehearsals(playbookFile: playbookFile, limit: limit, before: before)
    }
    func record(plan: ResolvedPlan, playbookFile: String, environment: String) async throws {
        try await inner.record(plan: plan, playbookFile: playbookFile, environment: environment)
    }
    func plan(fingerprint: String) async throws -> ResolvedPlan? { try await inner.plan(fingerprint: fingerprint) }
    func changeMark() async -> Int? { await inner.changeMark() }
    func orphans(runID: String) async throws -> [OrphanRecord] { try await inner.orphans(runID: runID) }
    func keep(_ orphan: OrphanRecord) async throws { try await inner.keep(orphan) }
    func load(events: [RunEvent], orphans: [OrphanRecord]) async throws { try await inner.load(events: events, orphans: orphans) }
    func identity() async -> String? { await inner.identity() }
    var gateMailbox: (any GateMailbox)? { inner.gateMailbox }
    func writeRefusal() async -> String? { await inner.writeRefusal() }
    func close() async { await inner.close() }
}
