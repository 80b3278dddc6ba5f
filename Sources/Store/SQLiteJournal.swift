import Engine
import Foundation
import GRDB
import System

/// The write-ahead journal of one run: each event is committed (synchronous=FULL) before `append`
/// returns, so the run never acts on something the timeline does not show.
///
/// Appends that arrive while a commit is in progress are grouped into the next transaction (group
/// commit): parallel hosts share one fsync without any of them going on before its event is durable.
/// Events are committed in their sequence order, so the journal never has a gap, even when the
/// process dies between two appends that arrived out of order.
public actor SQLiteJournal: Journal {
    let pool: DatabasePool
    let runID: String
    private var sequence: Int64
    private var pending: [(RunEvent, CheckedContinuation<Int64, any Error>)] = []
    private var writing = false
    /// The fence appends must still hold (nil: not fenced yet).
    private var fence: String?
    /// The error of a failed commit: every later append fails with it (committing them would leave a gap).
    private var failure: (any Error)?
    /// Bytes of stdout/stderr kept per event (first and last halves).
    static let outputLimit = 128 * 1024

    init(pool: DatabasePool, runID: String, lastSequence: Int64) {
        self.pool = pool
        self.runID = runID
        sequence = lastSequence
    }

    public func adopt(fence: String) { self.fence = fence }

    @discardableResult
    public func append(_ event: RunEvent) async throws -> Int64 {
        if let failure { throw failure }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append((event, continuation))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    /// The pending appends that can be committed now, in sequence order: events numbered by the
    /// caller are committed only once every number before them is (appends made in order may
    /// arrive out of order; the journal never holds an event whose predecessor it lacks). The
    /// rest stay pending.
    private func takeCommittable() -> [(RunEvent, CheckedContinuation<Int64, any Error>)] {
        var ready: [(RunEvent, CheckedContinuation<Int64, any Error>)] = []
        var next = sequence
        var waiting = pending.sorted { ($0.0.sequence ?? Int64.max) < ($1.0.sequence ?? Int64.max) }
        while let first = waiting.first {
            if let number = first.0.sequence {
                guard number <= next + 1 else { break }
                next = max(next, number)
            } else {
                next += 1
            }
            ready.append(waiting.removeFirst())
        }
        pending = waiting
        return ready
    }

    private func drain() async {
        while true {
            let batch = takeCommittable()
            if batch.isEmpty { break }
            var numbered: [RunEvent] = []
            var next = sequence
            for (event, _) in batch {
                var stored = event
                stored.runID = runID
                let sequence = event.sequence ?? (next + 1)
                next = max(next, sequence)
                stored.sequence = sequence
                numbered.append(stored)
            }
            let events = numbered
            let (fence, runID) = (self.fence, self.runID)
            do {
                try await pool.write { db in
                    if let fence {
                        let current = try String.fetchOne(db, sql: "SELECT fence FROM runs WHERE id = ?", arguments: [runID])
                        guard current == fence else { throw FencedOut(runID: runID) }
                    }
                    for event in events { try Self.insert(event, db) }
                }
                sequence = next
                for (index, (_, continuation)) in batch.enumerated() { continuation.resume(returning: numbered[index].sequence ?? 0) }
            } catch {
                failure = error
                for (_, continuation) in batch + pending { continuation.resume(throwing: error) }
                pending.removeAll()
            }
        }
        writing = false
    }

    static func bounded(_ text: String?) -> (String?, Int) {
        // The capture's own cut line may come on top of the limit: cut again only beyond it.
        guard let text, text.utf8.count > outputLimit + 128 else { return (text, 0) }
        let bytes = Array(text.utf8)
        let half = outputLimit / 2
        let cut = bytes.count - 2 * half
        let head = String(decoding: bytes.prefix(half), as: UTF8.self)
        let tail = String(decoding: bytes.suffix(half), as: UTF8.self)
        return (head + OutputCapture.cutMarker(cut) + tail, cut)
    }

    static func insert(_ event: RunEvent, _ db: Database) throws {
        let time = ISO8601.format(event.time)
        let (stdout, cutOut) = bounded(event.stdout)
        let (stderr, cutErr) = bounded(event.stderr)
        let omitted = (event.outputOmitted ?? 0) + cutOut + cutErr
        var details: String?
        if let map = event.details, let data = try? JSONSerialization.data(withJSONObject: map, options: [.sortedKeys]) {
            details = String(decoding: data, as: UTF8.self)
        }
        if event.kind == .runStarted {
            let info = event.runStarted
            try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO runs (id, playbook, playbook_file, inventory_file, environment, kind, status, operator,
                        controller, started, hosts, vars)
                    VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    event.runID, info?.playbook ?? "", info?.playbookFile ?? "", info?.inventoryFile ?? "",
                    info?.environment ?? "", info?.kind ?? "run", info?.operatorName ?? "",
                    "\(info?.controller ?? "") pid \(info?.pid ?? "")", time, info?.hosts ?? "", info?.vars ?? "{}",
                ])
        }
        // Cached statements: one parse per run, not one per event.
        try db.cachedStatement(
            sql: """
                INSERT INTO events (run_id, seq, time, kind, phase, batch, host, step, step_name, status, exit_code, command,
                    message, stdout, stderr, output_omitted, duration_ms, attempt, details)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                event.runID, event.sequence, time, event.kind.rawValue, event.phase?.rawValue, event.batch, event.host, event.step,
                event.stepName, event.status, event.exitCode, event.command, event.message, stdout, stderr,
                omitted > 0 ? omitted : nil, event.durationMS, event.attempt, details,
            ])
        switch event.kind {
        case .stepFinished, .rollbackStepFinished:
            try db.cachedStatement(
                sql: """
                    INSERT INTO step_results (run_id, seq, host, step, step_name, phase, attempt, finished, status, exit_code,
                        duration_ms, command, stdout, stderr, output_omitted)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    event.runID, event.sequence, event.host ?? "", event.step ?? "", event.stepName, event.phase?.rawValue,
                    event.attempt, time, event.status ?? "", event.exitCode, event.durationMS, event.command, stdout, stderr,
                    omitted > 0 ? omitted : nil,
                ])
        case .probeRound:
            try db.cachedStatement(
                sql: """
                    INSERT INTO probe_results (run_id, seq, host, batch, phase, round, time, status, message, duration_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    event.runID, event.sequence, event.host ?? "", event.batch, event.phase?.rawValue, event.attempt, time,
                    event.status ?? "", event.message, event.durationMS,
                ])
        case .backupRecorded:
            guard let backup = event.backup else { break }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO artifacts (run_id, host, step, path, archive, bytes, sha256, existed, time)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    event.runID, event.host ?? "", event.step ?? "", backup.path, backup.archive, backup.size, backup.sha256,
                    Int(backup.existed), time,
                ])
        case .runFinished:
            try db.execute(
                sql: "UPDATE runs SET status = ?, exit_code = ?, finished = ?, reason = ? WHERE id = ?",
                arguments: [event.status ?? "failed", event.runFinished?.exitCode, time, event.message, event.runID])
        case .runResumed:
            try db.execute(sql: "UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", arguments: [event.runID])
        default:
            break
        }
    }
}
