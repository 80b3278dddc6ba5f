import Engine
import Foundation
import GRDB

/// The environment lock, kept in the SQLite store: one row per locked environment with its lease
/// and fencing token. Taking it (or taking it over) also makes the token the run's fence
/// (`runs.fence`), which every journal append of that run checks in its transaction.
struct SQLiteLock: EnvironmentLock {
    let pool: DatabasePool

    func acquire(_ request: LockRequest) async throws -> String {
        let now = StoreTime.format(Date())
        return try await pool.write { db in
            let current = try Row.fetchOne(db, sql: LockStatements.holder, arguments: [request.environment])?
                .lockHolder(environment: request.environment)
            try LockRules.check(request, current: current)
            let fence = try String.fetchOne(db, sql: LockStatements.runFence, arguments: [request.runID])
            let token = LockStatements.token(request, fence: fence, current: current)
            try db.write(LockStatements.row(request, token: token, since: now))
            try db.write(LockStatements.fence(runID: request.runID, token))
            return token
        }
    }

    func refresh(environment: String, token: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: LockStatements.refresh, arguments: [StoreTime.format(Date()), environment, token])
            return db.changesCount > 0
        }
    }

    func release(environment: String, token: String) async throws {
        try await pool.write { db in try db.execute(sql: LockStatements.release, arguments: [environment, token]) }
    }

    func holder(of environment: String) async throws -> LockHeld? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: LockStatements.holder, arguments: [environment]).map { $0.lockHolder(environment: environment) }
        }
    }

    func forceRelease(environment: String, operatorName: String, reason: String) async throws -> LockHeld? {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: LockStatements.holder, arguments: [environment]) else { return nil }
            let held = row.lockHolder(environment: environment)
            try db.execute(sql: LockStatements.releaseAny, arguments: [environment])
            if try Row.fetchOne(db, sql: StoreQueries.runByID, arguments: [held.runID]) != nil {
                // The holder's run is fenced: if its controller is alive after all, it can record nothing more.
                try db.write(LockStatements.fence(runID: held.runID, LockRules.releasedFence(after: held)))
                let last = try Int64.fetchOne(db, sql: StoreQueries.lastSequence, arguments: [held.runID]) ?? 0
                let event = TimelineProjection.lockReleased(runID: held.runID, sequence: last + 1, operatorName: operatorName, reason: reason)
                for write in TimelineProjection.writes(for: event) { try db.write(write) }
            }
            return held
        }
    }
}
