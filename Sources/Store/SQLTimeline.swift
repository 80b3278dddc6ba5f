import Engine
import Foundation

/// A store whose reads are SQL: the queries of the ``RunStore`` seam written once, over the one
/// thing each store does its own way (run a statement and decode its rows).
protocol SQLTimeline: RunStore, GateMailbox {
    /// The rows `sql` (with `?` placeholders) gives with `arguments` bound, each through `transform`.
    func read<T: Sendable>(_ sql: String, _ arguments: [StoreValue], _ transform: @escaping @Sendable (any StoreRow) -> T)
        async throws -> [T]
    /// Writes `rows` in one transaction.
    func write(_ rows: [RowWrite]) async throws
    /// Runs the writing statement `sql` and gives the rows it returns (`RETURNING`).
    func writeReturning<T: Sendable>(_ sql: String, _ arguments: [StoreValue], _ transform: @escaping @Sendable (any StoreRow) -> T)
        async throws -> [T]
}

extension SQLTimeline {
    public func plan(fingerprint: String) async throws -> ResolvedPlan? {
        try await read(PlanRow.query, [.text(fingerprint)]) { $0.text("entries") }.first?.map(PlanRow.decode)
    }

    public func runs(limit: Int, kind: String?) async throws -> [RunRecord] {
        let (sql, arguments) = StoreQueries.runs(limit: limit, kind: kind)
        return try await read(sql, arguments) { $0.runRecord }
    }

    public func run(_ id: String) async throws -> RunRecord? {
        if let exact = try await read(StoreQueries.runByID, [.text(id)], { $0.runRecord }).first { return exact }
        let rows = try await read(StoreQueries.runsByPrefix, [.integer(Int64(id.count)), .text(id)]) { $0.runRecord }
        return rows.count == 1 ? rows[0] : nil
    }

    public func events(runID: String, after: Int64) async throws -> [RunEvent] {
        try await read(StoreQueries.events, [.text(runID), .integer(after)]) { $0.runEvent }
    }

    public func artifacts(runID: String) async throws -> [Artifact] {
        try await read(StoreQueries.artifacts, [.text(runID)]) { $0.artifact }
    }

    public func finishedRehearsals(playbookFile: String, limit: Int, before: Date?) async throws -> [RunRecord] {
        try await read(StoreQueries.finishedRehearsals, StoreQueries.rehearsalArguments(playbookFile, limit: limit, before: before)) {
            $0.runRecord
        }
    }

    public func orphans(runID: String) async throws -> [OrphanRecord] {
        try await read(StoreQueries.orphans, [.text(runID)]) { $0.orphanRecord }.compactMap { $0 }
    }

    public var gateMailbox: (any GateMailbox)? { self }

    public func post(_ answer: GateAnswer) async throws -> GateAnswer {
        let arguments: [StoreValue] = [
            .text(answer.runID), .integer(answer.gate), .text(answer.yes ? "yes" : "no"), .text(answer.identity),
            .integer(answer.verified ? 1 : 0), .text(answer.machine), .text(answer.reason), .text(StoreTime.format(answer.time)),
        ]
        guard let posted = try await writeReturning(StoreQueries.postGateAnswer, arguments, { $0.gateAnswer }).first else {
            throw StoreError(message: "the store kept no answer")
        }
        return posted
    }

    public func answers(runID: String, gate: Int64) async throws -> [GateAnswer] {
        try await read(StoreQueries.gateAnswers, [.text(runID), .integer(gate)]) { $0.gateAnswer }
    }

    public func keep(_ orphan: OrphanRecord) async throws {
        try await write([try Self.row(of: orphan)])
    }

    public func load(events: [RunEvent], orphans: [OrphanRecord]) async throws {
        try await write(events.flatMap(TimelineProjection.writes(for:)) + orphans.map(Self.row(of:)))
    }

    /// The `spills` row that keeps `orphan` (one already kept, by its id, stays as it is).
    private static func row(of orphan: OrphanRecord) throws -> RowWrite {
        try SpillJournal.row(
            .insertIgnoring, id: orphan.id, runID: orphan.runID, merged: false, controller: orphan.controller, fence: nil,
            acknowledged: 0, events: orphan.events, count: orphan.events.count, created: orphan.created, replayed: orphan.replayed,
            replayedBy: orphan.replayedBy)
    }
}
