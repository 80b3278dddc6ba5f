import Engine
import Foundation
import PostgresNIO

/// What the replay of one spill file did.
public struct SpillReplay: Sendable, CustomStringConvertible {
    /// How a spill ended up in the store.
    public enum Outcome: String, Sendable {
        /// Its events joined the run's timeline (those the store lacked), in order.
        case merged
        /// The run had moved on (another controller took it over): kept beside it, not merged.
        case orphan
        /// An earlier replay had put it in the store already (the file was left behind).
        case alreadyReplayed = "already-replayed"
    }

    /// The spill file.
    public var path: String
    public var runID: String
    public var outcome: Outcome
    /// Events the store took from it (merged), or kept (orphan).
    public var events: Int
    /// The run's environment lock, released because the spill holds the run's end.
    public var releasedLock: Bool
    /// Why an orphan was not merged (the run taken over, or a spill that does not continue it).
    public var whyKept = "came from a controller that had lost the run"

    public var description: String {
        switch outcome {
        case .merged:
            "the spill of run \(runID) (\(events) event\(events == 1 ? "" : "s")) was replayed into its timeline"
                + (releasedLock ? " and its environment lock released" : "")
        case .orphan:
            "the spill of run \(runID) (\(events) event\(events == 1 ? "" : "s")) \(whyKept): "
                + "kept as an orphan record beside it, not merged (`golive timeline \(runID) --orphans`)"
        case .alreadyReplayed:
            "the spill of run \(runID) was already in the store"
        }
    }
}

/// What a spill file left in the spill directory is, to this store.
public enum SpillStanding: Sendable {
    /// Not a spill journal golive can read.
    case damaged
    /// One of this store's, for run `runID` (not replayable yet).
    case ours(runID: String)
    /// Another store's.
    case another(runID: String, store: String)
}

extension PostgresStore {
    /// What the spill file `path` is to this store.
    public func standing(ofSpill path: String) -> SpillStanding {
        guard let header = SpillJournal.header(path) else { return .damaged }
        return header.store == storeID.withLock({ $0 }) ? .ours(runID: header.runID) : .another(runID: header.runID, store: header.store)
    }

    /// How many spill files on this machine were written for this database.
    public var spillsWaiting: Int {
        SpillJournal.files(in: spillDirectory).filter { SpillJournal.header($0)?.store == storeID.withLock({ $0 }) }.count
    }

    /// Replays every spill file in `directory` written for this database, oldest first: each in
    /// one transaction that checks the run's fence. While the fence is still the one the spilling
    /// controller held, nobody took the run over: the events the store lacks join its timeline
    /// (those it has — a commit whose answer was lost — are skipped), and a spill that holds the
    /// run's end releases its environment lock too. Otherwise the spill is kept beside the run as
    /// an orphan record. Each replay is recorded under the spill's id, so a file left behind is
    /// never replayed twice; the file is removed once its replay is committed.
    ///
    /// - Returns: each spill file's replay, or why it could not be replayed (it is kept then).
    public func replaySpills(in directory: String? = nil) async -> [(path: String, result: Result<SpillReplay, StoreError>)] {
        var results: [(String, Result<SpillReplay, StoreError>)] = []
        for path in SpillJournal.files(in: directory ?? spillDirectory) {
            do {
                // Only a spill of this store, and only one no other process holds (its controller
                // still writing it, another command replaying it): held until it is removed.
                guard SpillJournal.header(path)?.store == storeID.withLock({ $0 }) else { continue }
                let spill = try SpillJournal.open(path)
                let (header, events) = try spill.read()
                let replay = try await replay(header, events, path: path)
                SpillJournal.remove(path)
                withExtendedLifetime(spill) {}
                results.append((path, .success(replay)))
            } catch {
                results.append((path, .failure(error as? StoreError ?? StoreError(message: "\(error)"))))
            }
        }
        return results
    }

    private func replay(_ header: SpillJournal.Header, _ events: [RunEvent], path: String) async throws -> SpillReplay {
        let notify = "pg_notify('\(PostgresChangeFeed.channel)', ?)"
        return try await writer.transaction { connection in
            try await connection.rows("SELECT pg_advisory_xact_lock(hashtext('golive-spill:' || ?))", [.text(header.runID)])
            if let done = try await connection.rows("SELECT outcome, count FROM spills WHERE id = ?", [.text(header.id)]).first {
                return SpillReplay(
                    path: path, runID: header.runID, outcome: .alreadyReplayed, events: done.int("count") ?? 0, releasedLock: false)
            }
            let run = try await connection.rows("SELECT fence FROM runs WHERE id = ?" + SQLDialect.postgres.forUpdate, [.text(header.runID)])
            // A spill holds its own run's events only: one that holds another's is not replayed at all.
            if let stranger = events.first(where: { $0.runID != header.runID }) {
                throw StoreError(message: "the spill of run \(header.runID) holds an event of run \(stranger.runID): it is damaged, and not replayed")
            }
            // An orphan record is kept beside its run: a spill of a run this store never held
            // (and that does not start it) has nothing to be kept beside, and stays a file.
            guard run.first != nil || events.first?.kind == .runStarted else {
                throw StoreError(message: "run \(header.runID) is not in this store, and its spill does not start it: the spill is kept at \(path)")
            }
            let fence = run.first?.text("fence")
            let last = try await connection.rows(StoreQueries.lastSequence, [.text(header.runID)]).first?.integer("seq") ?? 0
            let fresh = events.filter { ($0.sequence ?? 0) > last }
            // The run is still the spilling controller's, and the spill continues its timeline without a gap.
            let continues = fresh.first.map { $0.sequence == last + 1 } ?? true
            // Nothing joins a run after its end: a run whose last event is its end keeps what it has
            // (a recovery that undoes a finished run records its resumption first).
            let lastKind = try await connection.rows("SELECT kind FROM events WHERE run_id = ? AND seq = ?", [.text(header.runID), .integer(last)]).first?.text("kind")
            let ended = lastKind == RunEvent.Kind.runFinished.rawValue && fresh.first?.kind != .runResumed
            let merge = fence == header.fence && continues && !(ended && !fresh.isEmpty)
            var released = false
            if merge {
                try await connection.write(fresh.flatMap(TimelineProjection.writes(for:)))
                if let fence = header.fence, events.contains(where: { $0.kind == .runFinished }) {
                    let gone = try await connection.rows(
                        "DELETE FROM locks WHERE run_id = ? AND token = ? RETURNING environment", [.text(header.runID), .text(fence)])
                    released = !gone.isEmpty
                    try await connection.write([LockStatements.fence(runID: header.runID, StoreTokens.released(after: fence))])
                }
            }
            try await connection.write([
                try SpillJournal.row(
                    .insert, id: header.id, runID: header.runID, merged: merge, controller: header.controller, fence: header.fence,
                    acknowledged: header.acknowledged, events: events, count: merge ? fresh.count : events.count, created: header.created,
                    replayed: Date(), replayedBy: LockRules.controller)
            ])
            try await connection.rows("SELECT \(notify)", [.text(header.runID)])
            var replay = SpillReplay(
                path: path, runID: header.runID, outcome: merge ? .merged : .orphan, events: merge ? fresh.count : events.count,
                releasedLock: released)
            if fence == header.fence, ended, !fresh.isEmpty {
                replay.whyKept = "came after the run's end the store already has (nothing joins a run after its end)"
            } else if fence == header.fence, let first = fresh.first?.sequence {
                replay.whyKept = "does not continue the run's timeline (the store has its events up to \(last), the spill goes on from \(first))"
            }
            return replay
        }
    }
}
