import Foundation

/// A store that keeps one journal in memory and no lock (engine tests, dry runs). It records no
/// runs, artifacts nor plans: only the events its journal holds can be read back.
public struct MemoryStore: RunStore {
    /// The journal every run appends to.
    public let journal: any Journal

    /// A store over `journal` (a fresh ``MemoryJournal`` by default).
    public init(journal: any Journal = MemoryJournal()) { self.journal = journal }

    public var location: String { "memory" }
    public var environmentLock: (any EnvironmentLock)? { nil }
    public func journal(runID: String) throws -> any Journal { journal }

    public func record(plan: ResolvedPlan, playbookFile: String, environment: String) async throws {}
    public func plan(fingerprint: String) async throws -> ResolvedPlan? { nil }
    public func runs(limit: Int, kind: String?) async throws -> [RunRecord] { [] }
    public func run(_ id: String) async throws -> RunRecord? { nil }
    public func artifacts(runID: String) async throws -> [Artifact] { [] }
    public func finishedRehearsals(playbookFile: String, limit: Int, before: Date?) async throws -> [RunRecord] { [] }

    public func events(runID: String, after: Int64) async throws -> [RunEvent] {
        guard let memory = journal as? MemoryJournal else { return [] }
        return await memory.events.filter { $0.runID == runID && ($0.sequence ?? 0) > after }
    }
}
