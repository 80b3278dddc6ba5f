import Foundation

/// A store that keeps one journal in memory and no lock (engine tests, dry runs). It records no
/// runs, artifacts nor plans: only the events its journal holds can be read back.
public struct MemoryStore: RunStore {
    /// The journal every run appends to.
    public let journal: any Journal

    /// Where gate answers are left, if this store takes them.
    public let mailbox: (any GateMailbox)?

    /// A store over `journal` (a fresh ``MemoryJournal`` by default), taking gate answers in
    /// `mailbox` when given.
    public init(journal: any Journal = MemoryJournal(), mailbox: (any GateMailbox)? = nil) {
        self.journal = journal
        self.mailbox = mailbox
    }

    public var gateMailbox: (any GateMailbox)? { mailbox }

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
