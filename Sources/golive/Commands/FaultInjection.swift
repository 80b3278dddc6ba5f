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

    /// The point asked for and the signal sent there, if any.
    static var fault: (limit: Int, signal: Int32)? {
        let environment = ProcessInfo.processInfo.environment
        for (name, signal) in [("GOLIVE_FAULT_KILL_AFTER_EVENTS", SIGKILL), ("GOLIVE_FAULT_STOP_AFTER_EVENTS", SIGSTOP)] {
            if let text = environment[name], let limit = Int(text), limit > 0 { return (limit, signal) }
        }
        return nil
    }

    init(inner: any Journal, limit: Int, signal: Int32) {
        self.inner = inner
        self.limit = limit
        self.signal = signal
    }

    @discardableResult
    func append(_ event: RunEvent) async throws -> Int64 {
        let sequence = try await inner.append(event)
        let reached = lock.withLock {
            count += 1
            return signal == SIGKILL ? count >= limit : count == limit
        }
        if reached { kill(getpid(), signal) }
        return sequence
    }
}

/// A store whose journals are ``KillingJournal``s when the fault is asked for.
struct KillingStore: RunStore {
    let inner: any RunStore
    let limit: Int
    let signal: Int32

    /// Wraps `store` when a fault is asked for; returns it unchanged otherwise.
    static func wrap(_ store: any RunStore) -> any RunStore {
        guard let fault = KillingJournal.fault else { return store }
        return KillingStore(inner: store, limit: fault.limit, signal: fault.signal)
    }

    var location: String { inner.location }
    var environmentLock: (any EnvironmentLock)? { inner.environmentLock }
    func journal(runID: String) async throws -> any Journal {
        KillingJournal(inner: try await inner.journal(runID: runID), limit: limit, signal: signal)
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
