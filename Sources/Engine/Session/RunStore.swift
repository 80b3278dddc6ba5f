import Foundation

/// Where runs are recorded: the one seam between golive and a store (the embedded SQLite
/// timeline, the PostgreSQL team store; an in-memory one for tests and dry runs). The engine
/// writes through ``journal(runID:)`` and ``environmentLock``; the commands read runs, events,
/// artifacts and plans through the rest, whichever store it is.
public protocol RunStore: Sendable {
    /// Where it is, for messages (a file path, a URL without its password).
    var location: String { get }
    /// The environment lock it keeps, if it keeps one.
    var environmentLock: (any EnvironmentLock)? { get }
    /// A journal that appends to run `runID` (new or recorded).
    ///
    /// - Throws: when the store cannot be read.
    func journal(runID: String) async throws -> any Journal
    /// Run `runID`'s events after sequence number `after` (exclusive), in order.
    ///
    /// - Throws: when the store cannot be read.
    func events(runID: String, after: Int64) async throws -> [RunEvent]
    /// Runs, newest first, of one kind when `kind` is given.
    ///
    /// - Throws: when the store cannot be read.
    func runs(limit: Int, kind: String?) async throws -> [RunRecord]
    /// One run, by id or by a prefix of its id that only it has.
    ///
    /// - Throws: when the store cannot be read.
    func run(_ id: String) async throws -> RunRecord?
    /// The backups a run recorded.
    ///
    /// - Throws: when the store cannot be read.
    func artifacts(runID: String) async throws -> [Artifact]
    /// Finished rehearsals of `playbookFile` (succeeded or rolled back), newest first, started
    /// before `before` when given: up to `limit` candidates for ``rehearsals(playbookFile:limit:before:)``.
    ///
    /// - Throws: when the store cannot be read.
    func finishedRehearsals(playbookFile: String, limit: Int, before: Date?) async throws -> [RunRecord]
    /// Records a resolved plan under its fingerprint (the first record wins).
    ///
    /// - Throws: when the store cannot be written.
    func record(plan: ResolvedPlan, playbookFile: String, environment: String) async throws
    /// The plan recorded under `fingerprint`, if any.
    ///
    /// - Throws: when the store cannot be read.
    func plan(fingerprint: String) async throws -> ResolvedPlan?
    /// A number that grows whenever the store may hold events it did not hold before (another
    /// controller committed some), so that a live view reads again only then; nil when the
    /// store cannot tell (a live view then reads each time it looks).
    func changeMark() async -> Int?
    /// The orphan records kept beside run `runID` (spills of a controller that had lost the run).
    ///
    /// - Throws: when the store cannot be read.
    func orphans(runID: String) async throws -> [OrphanRecord]
    /// Keeps an orphan record beside its run (history moved from another store); one already
    /// kept (the same id) stays as it is.
    ///
    /// - Throws: when the store cannot be written, or keeps no orphan records.
    func keep(_ orphan: OrphanRecord) async throws
    /// Writes a whole run moved from another store, its `events` and the `orphans` kept beside
    /// it, in one transaction: afterwards the store holds all of it or none of it.
    ///
    /// - Throws: when the store cannot be written, or already holds one of the events.
    func load(events: [RunEvent], orphans: [OrphanRecord]) async throws
    /// The name the store authenticated this controller as (PostgreSQL's `session_user`), which
    /// gate answers and unlocks on it record; nil when the store authenticates nobody (a file).
    func identity() async -> String?
    /// Why this store cannot be written with the login it was opened with (a read-only role);
    /// nil when it can. Asked before a command that writes touches anything.
    func writeRefusal() async -> String?
    /// Where answers to this store's runs' gates are left; nil when it keeps none (then only the
    /// operator's terminal answers).
    var gateMailbox: (any GateMailbox)? { get }
    /// Closes the store's connections (a no-op for a file).
    func close() async
}

extension RunStore {
    /// A store that keeps no gate answers.
    public var gateMailbox: (any GateMailbox)? { nil }

    /// A store without transactions of its own: the events through a journal, then the orphans.
    public func load(events: [RunEvent], orphans: [OrphanRecord]) async throws {
        guard let runID = events.first?.runID else { return }
        let journal = try await journal(runID: runID)
        for event in events { _ = try await journal.append(event) }
        for orphan in orphans { try await keep(orphan) }
    }

    /// A store that authenticates nobody.
    public func identity() async -> String? { nil }

    /// A store that anyone who can open it can write.
    public func writeRefusal() async -> String? { nil }

    /// A store that keeps no spills has no orphan records.
    public func orphans(runID: String) async throws -> [OrphanRecord] { [] }

    /// A store that keeps no spills cannot keep an orphan record.
    public func keep(_ orphan: OrphanRecord) async throws {
        throw OrphansNotKept(location: location)
    }

    /// Run `runID`'s events, in order.
    ///
    /// - Throws: when the store cannot be read.
    public func events(runID: String) async throws -> [RunEvent] { try await events(runID: runID, after: 0) }

    /// The newest finished rehearsals (up to `limit`, started before `before` when given) of a
    /// playbook file that completed their batches, newest first, with their events.
    ///
    /// - Throws: when the store cannot be read.
    public func rehearsals(playbookFile: String, limit: Int, before: Date? = nil) async throws -> [(RunRecord, [RunEvent])] {
        let path = URL(fileURLWithPath: playbookFile).standardizedFileURL.path
        var found: [(RunRecord, [RunEvent])] = []
        for run in try await finishedRehearsals(playbookFile: path, limit: limit * 4, before: before) where found.count < limit {
            let events = try await events(runID: run.id)
            if events.contains(where: { $0.kind == .batchFinished && $0.status == "ok" }) { found.append((run, events)) }
        }
        return found
    }

    /// The newest finished rehearsal of a playbook file that completed its batches, with its events.
    ///
    /// - Throws: when the store cannot be read.
    public func lastRehearsal(playbookFile: String) async throws -> (RunRecord, [RunEvent])? {
        try await rehearsals(playbookFile: playbookFile, limit: 1).first
    }

    /// A store that cannot tell when it changed: read it each time.
    public func changeMark() async -> Int? { nil }

    public func close() async {}
}

/// A store that keeps no orphan records was asked to keep one.
public struct OrphansNotKept: Error, CustomStringConvertible {
    /// The store.
    public var location: String
    public var description: String { "the store \(location) keeps no orphan records" }
}
