import Foundation
import Logging
import PostgresNIO

/// One PostgreSQL connection used by one party at a time (the journal's commits and the lock's
/// changes share the writer; reads have their own): a transaction never interleaves with another
/// statement. A connection that closed is opened again for the next use.
actor PostgresChannel {
    private let connect: @Sendable () async throws -> PostgresConnection
    private var connection: PostgresConnection?
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(connect: @escaping @Sendable () async throws -> PostgresConnection) { self.connect = connect }

    /// A channel dropped without ``close()`` still closes its connection (kept alive until it is).
    deinit {
        if let connection, !connection.isClosed {
            connection.close().whenComplete { _ in _ = connection }
        }
    }

    /// Runs `body` with the connection to itself.
    func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        if busy { await withCheckedContinuation { waiting.append($0) } }
        busy = true
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        if connection == nil || connection?.isClosed == true { connection = try await connect() }
        guard let connection else { throw PostgresStoreError(message: "no connection") }
        return try await body(connection)
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws. An
    /// error of the commit itself is thrown (the caller must not take the action it would announce).
    func transaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await connection.rows("BEGIN", [])
            do {
                let value = try await body(connection)
                try await connection.rows("COMMIT", [])
                return value
            } catch {
                _ = try? await connection.rows("ROLLBACK", [])
                throw error
            }
        }
    }

    /// Closes the connection.
    func close() async {
        try? await connection?.close()
        connection = nil
    }
}

extension PostgresConnection {
    static let quiet = Logger(label: "golive.store", factory: { _ in SwiftLogNoOpLogHandler() })

    /// How long a statement may go unanswered before its connection is given up (longer than
    /// `lock_timeout`: a statement waiting for a row lock is answered, with an error, before).
    static let unanswered: Duration = .seconds(60)

    /// Runs `sql` (with `?` placeholders) with `values` bound, and returns its rows. A connection
    /// the server closed (it ended a stalled transaction's session, say) fails at once, and one
    /// that does not answer within ``unanswered`` is closed: never a wait without end.
    @discardableResult
    func rows(_ sql: String, _ values: [StoreValue]) async throws -> [PostgresRandomAccessRow] {
        guard !isClosed else { throw PostgresStoreError(message: "the connection to the store was closed (by the server, or lost)", unreachable: true) }
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            // PostgreSQL's text holds no NUL: a step's binary output is kept, the NULs shown as ␀ (as in SQLite).
            case .text(let text): binds.append(text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{2400}") : text)
            case .integer(let number): binds.append(number)
            case .real(let number): binds.append(number)
            case .null: binds.appendNull()
            }
        }
        let query = PostgresQuery(unsafeSQL: SQLDialect.postgres.render(sql), binds: binds)
        let rows = try await withThrowingTaskGroup(of: [PostgresRow]?.self) { group in
            group.addTask {
                do {
                    var rows: [PostgresRow] = []
                    for try await row in try await self.query(query, logger: Self.quiet) { rows.append(row) }
                    return rows
                } catch let error as PSQLError {
                    throw PostgresStoreError(error)
                }
            }
            group.addTask {
                try await Task.sleep(for: Self.unanswered)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let first else {
                try? await self.close()
                throw PostgresStoreError(message: "the store did not answer within \(Self.unanswered); the connection was closed", unreachable: true)
            }
            return first
        }
        return rows.map { $0.makeRandomAccess() }
    }

    /// Writes `rows`: the inserts first, those into one table with the same columns in one
    /// statement (a round trip per kind of row, not per row), in the order each kind first
    /// appears (a run's row before its events); then the updates, in their order.
    func write(_ rows: [RowWrite]) async throws {
        var groups: [[RowWrite]] = []
        var others: [RowWrite] = []
        for row in rows {
            guard row.kind == .insert || row.kind == .insertIgnoring else {
                others.append(row)
                continue
            }
            if let index = groups.firstIndex(where: { $0[0].table == row.table && $0[0].kind == row.kind && $0[0].columns == row.columns }) {
                groups[index].append(row)
            } else {
                groups.append([row])
            }
        }
        // Each chunk of a kind is one INSERT; they go together as the parts of one statement
        // (`WITH a AS (INSERT ...), b AS (INSERT ...) INSERT ...`), a run's own row first on its
        // own (its events refer to it).
        var parts: [(sql: String, values: [StoreValue])] = []
        for group in groups {
            var start = 0
            while start < group.count {
                let chunk = group[start..<min(group.count, start + 500)]
                let first = chunk[chunk.startIndex]
                let one = "(" + Array(repeating: "?", count: first.columns.count).joined(separator: ", ") + ")"
                let statement = SQLDialect.postgres.statement(for: first).replacingOccurrences(
                    of: "VALUES \(one)", with: "VALUES " + Array(repeating: one, count: chunk.count).joined(separator: ", "))
                if first.table == "runs" {
                    try await self.rows(statement, chunk.flatMap(\.values))
                } else {
                    parts.append((statement, chunk.flatMap(\.values)))
                }
                start += chunk.count
            }
        }
        while !parts.isEmpty {
            var taken: [(sql: String, values: [StoreValue])] = []
            var binds = 0
            while let next = parts.first, taken.isEmpty || binds + next.values.count <= 30_000 {
                taken.append(parts.removeFirst())
                binds += next.values.count
            }
            let leading = taken.dropLast().enumerated().map { "w\($0.offset) AS (\($0.element.sql))" }
            let sql = (leading.isEmpty ? "" : "WITH " + leading.joined(separator: ", ") + " ") + (taken.last?.sql ?? "")
            try await self.rows(sql, taken.flatMap(\.values))
        }
        for row in others { try await self.rows(SQLDialect.postgres.statement(for: row), row.values) }
    }
}
