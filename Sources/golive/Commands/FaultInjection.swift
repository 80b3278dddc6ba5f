import Engine
import Foundation

/// Fault injection for the reliability tests: `GOLIVE_FAULT_KILL_AFTER_EVENTS=N` makes the controller
/// SIGKILL itself right after its Nth event is durable, as if the laptop died at that point.
final class KillingJournal: Journal, @unchecked Sendable {
    private let inner: any Journal
    private let limit: Int
    private let lock = NSLock()
    private var count = 0

    /// The kill point asked for, if any.
    static var limit: Int? {
        guard let text = ProcessInfo.processInfo.environment["GOLIVE_FAULT_KILL_AFTER_EVENTS"], let limit = Int(text), limit > 0
        else { return nil }
        return limit
    }

    init(inner: any Journal, limit: Int) {
        self.inner = inner
        self.limit = limit
    }

    @discardableResult
    func append(_ event: RunEvent) async throws -> Int64 {
        let sequence = try await inner.append(event)
        let reached = lock.withLock {
            count += 1
            return count >= limit
        }
        if reached { kill(getpid(), SIGKILL) }
        return sequence
    }
}

/// A store whose journals are ``KillingJournal``s when the fault is asked for.
struct KillingStore: RunStore {
    let inner: any RunStore
    let limit: Int

    /// Wraps `store` when `GOLIVE_FAULT_KILL_AFTER_EVENTS` is set; returns it unchanged otherwise.
    static func wrap(_ store: any RunStore) -> any RunStore {
        guard let limit = KillingJournal.limit else { return store }
        return KillingStore(inner: store, limit: limit)
    }

    var location: String { inner.location }
    var environmentLock: (any EnvironmentLock)? { inner.environmentLock }
    func journal(runID: String) async throws -> any Journal {
        KillingJournal(inner: try await inner.journal(runID: runID), limit: limit)
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
    func close() async { await inner.close() }
}
