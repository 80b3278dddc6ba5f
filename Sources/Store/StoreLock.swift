import Engine
import Foundation
import GRDB
import Playbook

/// The environment lock, kept in the store: one row per locked environment with its lease and
/// fencing token. Taking it (or taking it over) also makes the token the run's fence (`runs.fence`),
/// which every journal append of that run checks in its transaction.
public struct StoreLock: EnvironmentLock {
    let pool: DatabasePool

    static func newToken() -> String { StoreTokens.random() }

    public func acquire(_ request: LockRequest) async throws -> String {
        let now = ISO8601.format(Date())
        let process = ProcessInfo.processInfo
        let controller = "\(process.hostName) pid \(process.processIdentifier)"
        let token = Self.newToken()
        try await pool.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM locks WHERE environment = ?", arguments: [request.environment]) {
                let held = Self.held(row, environment: request.environment)
                // A takeover replaces exactly the holder it was decided on; anything else is held.
                guard held.runID == request.runID, let replacing = request.replacing, held.token == replacing else { throw held }
            } else if request.replacing != nil {
                throw LockHeld(
                    environment: request.environment, runID: request.runID, holder: "nobody",
                    controller: "the lock was released while this recovery was being decided", since: Date(), lease: Date())
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO locks (environment, run_id, operator, controller, reason, since, lease, token, lease_seconds)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    request.environment, request.runID, request.operatorName, controller, request.reason, now, now, token,
                    request.lease.seconds,
                ])
            try db.execute(sql: "UPDATE runs SET fence = ? WHERE id = ?", arguments: [token, request.runID])
        }
        return token
    }

    public func refresh(environment: String, token: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE locks SET lease = ? WHERE environment = ? AND token = ?",
                arguments: [ISO8601.format(Date()), environment, token])
            return db.changesCount > 0
        }
    }

    public func release(environment: String, token: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM locks WHERE environment = ? AND token = ?", arguments: [environment, token])
        }
    }

    static func held(_ row: Row, environment: String) -> LockHeld {
        let seconds: Double? = row["lease_seconds"]
        return LockHeld(
            environment: environment, runID: row["run_id"], holder: row["operator"], controller: row["controller"],
            since: ISO8601.parse(row["since"]) ?? Date(), lease: ISO8601.parse(row["lease"]) ?? Date(),
            leaseLength: .milliseconds(Int((seconds ?? 60) * 1000)), token: row["token"])
    }

    public func holder(of environment: String) throws -> LockHeld? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM locks WHERE environment = ?", arguments: [environment]).map {
                Self.held($0, environment: environment)
            }
        }
    }

    public func forceRelease(environment: String, operatorName: String, reason: String) async throws -> LockHeld? {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM locks WHERE environment = ?", arguments: [environment]) else {
                return nil
            }
            let held = Self.held(row, environment: environment)
            try db.execute(sql: "DELETE FROM locks WHERE environment = ?", arguments: [environment])
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs WHERE id = ?", arguments: [held.runID]) == 1 {
                // The holder's run is fenced: if its controller is alive after all, it can record nothing more.
                try db.execute(sql: "UPDATE runs SET fence = ? WHERE id = ?", arguments: ["unlocked-" + Self.newToken(), held.runID])
                let next = (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events WHERE run_id = ?", arguments: [held.runID]) ?? 0) + 1
                var event = RunEvent(
                    runID: held.runID, kind: .lockReleased, status: "unlocked",
                    message: "released by \(operatorName) with `golive unlock`: \(reason)")
                event.sequence = next
                try SQLiteJournal.insert(event, db)
            }
            return held
        }
    }
}
