import Engine
import Foundation
import GRDB

/// The environment lock, kept in the store: one row per locked environment, with a lease the holder
/// refreshes while it runs. A lock is released only by its run or on purpose (`golive unlock`).
public struct StoreLock: EnvironmentLock {
    let pool: DatabasePool

    public func acquire(environment: String, runID: String, operatorName: String, reason: String) async throws {
        let now = ISO8601.format(Date())
        let controller = "\(ProcessInfo.processInfo.hostName) pid \(ProcessInfo.processInfo.processIdentifier)"
        try await pool.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM locks WHERE environment = ?", arguments: [environment]) {
                let holder: String = row["run_id"]
                if holder != runID {
                    throw LockHeld(
                        environment: environment, runID: holder, holder: row["operator"], controller: row["controller"],
                        since: ISO8601.parse(row["since"]) ?? Date(), lease: ISO8601.parse(row["lease"]) ?? Date())
                }
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO locks (environment, run_id, operator, controller, reason, since, lease) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [environment, runID, operatorName, controller, reason, now, now])
        }
    }

    public func refresh(environment: String, runID: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE locks SET lease = ? WHERE environment = ? AND run_id = ?",
                arguments: [ISO8601.format(Date()), environment, runID])
        }
    }

    public func release(environment: String, runID: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM locks WHERE environment = ? AND run_id = ?", arguments: [environment, runID])
        }
    }

    /// The current holder, if any.
    public func holder(of environment: String) throws -> LockHeld? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM locks WHERE environment = ?", arguments: [environment]) else {
                return nil
            }
            return LockHeld(
                environment: environment, runID: row["run_id"], holder: row["operator"], controller: row["controller"],
                since: ISO8601.parse(row["since"]) ?? Date(), lease: ISO8601.parse(row["lease"]) ?? Date())
        }
    }

    /// Releases whatever holds the lock, on purpose; the release is recorded on the holder's timeline.
    ///
    /// - Returns: the released holder, or nil when the environment was not locked.
    public func forceRelease(environment: String, operatorName: String, reason: String) async throws -> LockHeld? {
        guard let held = try holder(of: environment) else { return nil }
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM locks WHERE environment = ?", arguments: [environment])
            let next = (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events WHERE run_id = ?", arguments: [held.runID]) ?? 0) + 1
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs WHERE id = ?", arguments: [held.runID]) == 1 {
                var event = RunEvent(
                    runID: held.runID, kind: .lockReleased, status: "unlocked",
                    message: "released by \(operatorName) with `golive unlock`: \(reason)")
                event.sequence = next
                try SQLiteJournal.insert(event, db)
            }
        }
        return held
    }
}
