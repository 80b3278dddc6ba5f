import Engine
import Foundation
import PostgresNIO

/// The environment lock, kept in the PostgreSQL store: the same row as SQLite's (holder, pid, host,
/// lease, fencing token), shared by every controller that names the store. Each change runs in a
/// transaction that first takes a transaction advisory lock on the environment, so two
/// controllers deciding at once are decided one after the other; the run's fence is set in the
/// same transaction, and the journal reads it `FOR UPDATE`, so a late append cannot slip between.
/// Leases are stamped with the server's clock and aged against it: controllers' clocks may differ.
struct PostgresLock: EnvironmentLock {
    let channel: PostgresChannel

    /// The server's time, as the store writes times.
    static let now = #"to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
    static let serialize = "SELECT pg_advisory_xact_lock(hashtext('golive-lock:' || ?))"

    func acquire(_ request: LockRequest) async throws -> String {
        try await channel.transaction { connection in
            try await connection.rows(Self.serialize, [.text(request.environment)])
            let current = try await Self.holder(request.environment, connection, forUpdate: true)
            try LockRules.check(request, current: current)
            let fence = try await connection.rows(LockStatements.runFence, [.text(request.runID)]).first?.text("fence")
            let token = LockStatements.token(request, fence: fence, current: current)
            let now = try await connection.rows("SELECT \(Self.now) AS now", []).first?.text("now") ?? StoreTime.format(Date())
            try await connection.write([LockStatements.row(request, token: token, since: now)])
            try await connection.write([LockStatements.fence(runID: request.runID, token)])
            return token
        }
    }

    func refresh(environment: String, token: String) async throws -> Bool {
        try await channel.withConnection { connection in
            !(try await connection.rows(
                "UPDATE locks SET lease = \(Self.now) WHERE environment = ? AND token = ? RETURNING environment", [.text(environment), .text(token)]
            ).isEmpty)
        }
    }

    func release(environment: String, token: String) async throws {
        _ = try await channel.withConnection { connection in
            try await connection.rows(LockStatements.release, [.text(environment), .text(token)]).count
        }
    }

    func holder(of environment: String) async throws -> LockHeld? {
        try await channel.withConnection { connection in try await Self.holder(environment, connection, forUpdate: false) }
    }

    /// The holder, its times moved onto this machine's clock.
    static func holder(_ environment: String, _ connection: PostgresConnection, forUpdate: Bool) async throws -> LockHeld? {
        let rows = try await connection.rows(
            "SELECT *, \(now) AS server_now FROM locks WHERE environment = ?" + (forUpdate ? SQLDialect.postgres.forUpdate : ""),
            [.text(environment)])
        guard let row = rows.first else { return nil }
        let offset = row.text("server_now").flatMap(StoreTime.parse).map { Date().timeIntervalSince($0) } ?? 0
        return row.lockHolder(environment: environment, clockOffset: offset)
    }

    func forceRelease(environment: String, operatorName: String, reason: String) async throws -> LockHeld? {
        try await channel.transaction { connection in
            try await connection.rows(Self.serialize, [.text(environment)])
            guard let held = try await Self.holder(environment, connection, forUpdate: true) else { return nil }
            try await connection.rows(LockStatements.releaseAny, [.text(environment)])
            if try await !connection.rows(StoreQueries.runByID + SQLDialect.postgres.forUpdate, [.text(held.runID)]).isEmpty {
                // The holder's run is fenced: if its controller is alive after all, it can record nothing more.
                try await connection.write([LockStatements.fence(runID: held.runID, LockRules.releasedFence(after: held))])
                let last = try await connection.rows(StoreQueries.lastSequence, [.text(held.runID)]).first?.integer("seq") ?? 0
                let event = TimelineProjection.lockReleased(runID: held.runID, sequence: last + 1, operatorName: operatorName, reason: reason)
                try await connection.write(TimelineProjection.writes(for: event))
                try await connection.rows("SELECT pg_notify('golive_events', ?)", [.text(held.runID)])
            }
            return held
        }
    }
}
