import Engine
import Foundation
import GRDB
import System

/// The embedded store: one SQLite file (WAL) holding runs, events, step and probe results, backup
/// artifacts, plans and environment locks. Readers (`watch`, `timeline`, `runs`) never block the
/// writer; every commit reaches the disk (synchronous=FULL) before the run takes its next action.
public final class SQLiteStore: SQLTimeline {
    /// The database file.
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the store at `path`; the directory is made 0700, the file 0600.
    ///
    /// - Throws: when the file cannot be opened or migrated, or others could read it.
    public init(path: String) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let created = !FileManager.default.fileExists(atPath: path)
        if !created { try Self.tighten(path) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Every commit reaches the disk before the run takes its next action.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let oldMask = umask(0o077)
        defer { umask(oldMask) }
        pool = try DatabasePool(path: path, configuration: configuration)
        if created { chmod(path, 0o600) }
        try Self.tighten(path)
        try SQLiteSchema.migrator.migrate(pool)
    }

    /// The store holds the record of every go-live: only its owner may read it. A file (or its
    /// `-wal`/`-shm`) that others could read is made 0600; one that cannot be is refused.
    static func tighten(_ path: String) throws {
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard lstat(file, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFLNK {
                throw StoreError(message: "\(file) is a symbolic link; the store must be a plain file")
            }
            guard info.st_mode & 0o077 != 0 else { continue }
            guard chmod(file, 0o600) == 0 else {
                throw StoreError(
                    message: "\(file) can be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))) and cannot be made 0600: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The database file.
    public var location: String { path }

    /// The environment lock kept in this store.
    public var environmentLock: (any EnvironmentLock)? { SQLiteLock(pool: pool) }

    public func journal(runID: String) async throws -> any Journal {
        let last = try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events WHERE run_id = ?", arguments: [runID])
        }
        let pool = self.pool
        return GroupCommitJournal(runID: runID, lastSequence: last ?? 0) { events, fence in
            try await pool.write { db in
                if let fence {
                    let current = try String.fetchOne(db, sql: "SELECT fence FROM runs WHERE id = ?", arguments: [runID])
                    guard current == fence else { throw FencedOut(runID: runID) }
                }
                for event in events {
                    for row in TimelineProjection.writes(for: event) { try db.write(row) }
                }
            }
        }
    }

    public func record(plan: ResolvedPlan, playbookFile: String, environment: String) async throws {
        let row = try PlanRow(plan, playbookFile: playbookFile)
        try await pool.write { db in try db.write(row.write(environment: environment)) }
    }


    func write(_ rows: [RowWrite]) async throws {
        try await pool.write { db in for row in rows { try db.write(row) } }
    }

    /// `PRAGMA integrity_check` result ("ok" when sound).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }

    func writeReturning<T: Sendable>(_ sql: String, _ arguments: [StoreValue], _ transform: @escaping @Sendable (any StoreRow) -> T)
        async throws -> [T]
    {
        try await pool.write { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments.map(\.databaseValue))).map(transform)
        }
    }

    func read<T: Sendable>(_ sql: String, _ arguments: [StoreValue], _ transform: @escaping @Sendable (any StoreRow) -> T) async throws -> [T] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments.map(\.databaseValue))).map(transform)
        }
    }
}
