import Engine
import Foundation
import GRDB
import System

/// The timeline: one SQLite file (WAL) holding runs, events, step and probe results, backup
/// artifacts and environment locks. Readers (`watch`, `timeline`, `runs`) never block the writer.
public final class TimelineStore: Sendable {
    /// The database file.
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the store at `path`; the directory is made 0700, the file 0600.
    ///
    /// - Throws: when the file cannot be opened or migrated.
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
        try Self.migrator.migrate(pool)
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

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE runs (
                        id TEXT PRIMARY KEY, playbook TEXT NOT NULL, playbook_file TEXT NOT NULL, inventory_file TEXT NOT NULL,
                        environment TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER,
                        operator TEXT NOT NULL, controller TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
                        reason TEXT, hosts TEXT NOT NULL, vars TEXT NOT NULL DEFAULT '{}'
                    );
                    CREATE TABLE events (
                        run_id TEXT NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL, time TEXT NOT NULL, kind TEXT NOT NULL,
                        phase TEXT, batch INTEGER, host TEXT, step TEXT, step_name TEXT, status TEXT, exit_code INTEGER,
                        command TEXT, message TEXT, stdout TEXT, stderr TEXT, output_omitted INTEGER, duration_ms INTEGER,
                        attempt INTEGER, details TEXT,
                        PRIMARY KEY (run_id, seq)
                    );
                    CREATE INDEX events_by_host ON events(run_id, host);
                    CREATE TABLE step_results (
                        run_id TEXT NOT NULL, seq INTEGER NOT NULL, host TEXT NOT NULL, step TEXT NOT NULL, step_name TEXT,
                        phase TEXT, attempt INTEGER, finished TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER,
                        duration_ms INTEGER, command TEXT, stdout TEXT, stderr TEXT, output_omitted INTEGER,
                        PRIMARY KEY (run_id, seq)
                    );
                    CREATE TABLE probe_results (
                        run_id TEXT NOT NULL, seq INTEGER NOT NULL, host TEXT NOT NULL, batch INTEGER, phase TEXT,
                        round INTEGER, time TEXT NOT NULL, status TEXT NOT NULL, message TEXT, duration_ms INTEGER,
                        PRIMARY KEY (run_id, seq)
                    );
                    CREATE TABLE artifacts (
                        run_id TEXT NOT NULL, host TEXT NOT NULL, step TEXT NOT NULL, path TEXT NOT NULL, archive TEXT NOT NULL,
                        bytes INTEGER, sha256 TEXT, existed INTEGER, time TEXT NOT NULL,
                        PRIMARY KEY (run_id, host, step)
                    );
                    CREATE TABLE locks (
                        environment TEXT PRIMARY KEY, run_id TEXT NOT NULL, operator TEXT NOT NULL, controller TEXT NOT NULL,
                        reason TEXT, since TEXT NOT NULL, lease TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-plans") { db in
            // Plans as signed off: the resolved lines behind each fingerprint, so a refused
            // `run --expect-plan` can say what changed.
            try db.execute(
                sql: """
                    CREATE TABLE plans (
                        fingerprint TEXT PRIMARY KEY, created TEXT NOT NULL, playbook_file TEXT NOT NULL,
                        environment TEXT NOT NULL, entries TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v3-fencing") { db in
            // The lock's fencing token and lease length; the run's fence (the token of the
            // controller allowed to append to its journal).
            try db.execute(
                sql: """
                    ALTER TABLE locks ADD COLUMN token TEXT;
                    ALTER TABLE locks ADD COLUMN lease_seconds REAL;
                    ALTER TABLE runs ADD COLUMN fence TEXT;
                    """)
        }
        return migrator
    }

    /// Records a resolved plan under its fingerprint (kept once; the first record wins).
    public func savePlan(_ plan: ResolvedPlan, playbookFile: String, environment: String) throws {
        let entries = String(decoding: try JSONEncoder().encode(plan.entries), as: UTF8.self)
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO plans (fingerprint, created, playbook_file, environment, entries) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    plan.fingerprint, ISO8601.format(Date()), URL(fileURLWithPath: playbookFile).standardizedFileURL.path, environment,
                    entries,
                ])
        }
    }

    /// The plan recorded under `fingerprint`, if any.
    public func plan(fingerprint: String) throws -> ResolvedPlan? {
        let text = try pool.read { db in
            try String.fetchOne(db, sql: "SELECT entries FROM plans WHERE fingerprint = ?", arguments: [fingerprint])
        }
        guard let text else { return nil }
        return ResolvedPlan(entries: try JSONDecoder().decode([ResolvedPlan.Entry].self, from: Data(text.utf8)))
    }

    /// A journal that appends a run's events to this store.
    public func journal(runID: String) throws -> any Journal {
        let last = try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events WHERE run_id = ?", arguments: [runID])
        }
        return SQLiteJournal(pool: pool, runID: runID, lastSequence: last ?? 0)
    }

    /// The environment lock kept in this store.
    public var lock: StoreLock { StoreLock(pool: pool) }

    /// Runs, newest first.
    public func runs(limit: Int = 50, kind: String? = nil) throws -> [RunRecord] {
        try pool.read { db in
            var sql = "SELECT * FROM runs"
            var arguments: StatementArguments = []
            if let kind {
                sql += " WHERE kind = ?"
                arguments += [kind]
            }
            sql += " ORDER BY started DESC, rowid DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(RunRecord.init)
        }
    }

    /// One run, by id or unique id prefix.
    public func run(_ id: String) throws -> RunRecord? {
        try pool.read { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]) {
                return RunRecord(row)
            }
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE id LIKE ? LIMIT 2", arguments: [id + "%"])
            return rows.count == 1 ? RunRecord(rows[0]) : nil
        }
    }

    /// A run's events in order, from `after` (exclusive).
    public func events(runID: String, after: Int64) throws -> [RunEvent] {
        try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", arguments: [runID, after]
            ).map(Self.event)
        }
    }

    /// Backup artifacts of a run.
    public func artifacts(runID: String) throws -> [Artifact] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM artifacts WHERE run_id = ? ORDER BY time", arguments: [runID]).map {
                Artifact(host: $0["host"], step: $0["step"], path: $0["path"], archive: $0["archive"], bytes: $0["bytes"], sha256: $0["sha256"])
            }
        }
    }

    /// The newest finished rehearsal of a playbook file that completed its batches, with its events.
    public func lastRehearsal(playbookFile: String) throws -> (RunRecord, [RunEvent])? {
        try rehearsals(playbookFile: playbookFile, limit: 1).first
    }

    /// The newest finished rehearsals (up to `limit`, started before `before` when given) of a
    /// playbook file that completed their batches, newest first, with their events.
    public func rehearsals(playbookFile: String, limit: Int, before: Date? = nil) throws -> [(RunRecord, [RunEvent])] {
        let path = URL(fileURLWithPath: playbookFile).standardizedFileURL.path
        let candidates = try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM runs WHERE kind = 'rehearse' AND playbook_file = ? AND status IN ('succeeded', 'rolled-back')
                    AND started < ? ORDER BY started DESC, rowid DESC LIMIT ?
                    """,
                arguments: [path, before.map(ISO8601.format) ?? "9999", limit * 4]
            ).map(RunRecord.init)
        }
        var found: [(RunRecord, [RunEvent])] = []
        for run in candidates where found.count < limit {
            let events = try events(runID: run.id)
            if events.contains(where: { $0.kind == .batchFinished && $0.status == "ok" }) { found.append((run, events)) }
        }
        return found
    }

    /// `PRAGMA integrity_check` result ("ok" when sound).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }

    static func event(_ row: Row) -> RunEvent {
        var event = RunEvent(
            runID: row["run_id"], kind: RunEvent.Kind(rawValue: row["kind"]) ?? .runStarted,
            time: ISO8601.parse(row["time"]) ?? Date(timeIntervalSince1970: 0))
        event.sequence = row["seq"]
        event.phase = (row["phase"] as String?).flatMap(RunEvent.Phase.init(rawValue:))
        event.batch = row["batch"]
        event.host = row["host"]
        event.step = row["step"]
        event.stepName = row["step_name"]
        event.status = row["status"]
        event.exitCode = row["exit_code"]
        event.command = row["command"]
        event.message = row["message"]
        event.stdout = row["stdout"]
        event.stderr = row["stderr"]
        event.outputOmitted = row["output_omitted"]
        event.durationMS = row["duration_ms"]
        event.attempt = row["attempt"]
        if let details = row["details"] as String?, let data = details.data(using: .utf8) {
            event.details = try? JSONDecoder().decode([String: String].self, from: data)
        }
        return event
    }
}

/// A backup recorded on the timeline.
public struct Artifact: Sendable, Hashable {
    /// Host.
    public var host: String
    /// Step id.
    public var step: String
    /// What was archived.
    public var path: String
    /// The archive file on the host.
    public var archive: String
    /// Size in bytes.
    public var bytes: Int?
    /// SHA-256.
    public var sha256: String?
}

/// One row of `runs`.
public struct RunRecord: Sendable, Hashable {
    /// Run id.
    public var id: String
    /// Playbook title.
    public var playbook: String
    /// Playbook file.
    public var playbookFile: String
    /// Inventory file.
    public var inventoryFile: String
    /// Environment.
    public var environment: String
    /// run, rehearse, check, rollback.
    public var kind: String
    /// running, succeeded, rolled-back, refused, needs-attention, interrupted, failed.
    public var status: String
    /// Exit code once finished.
    public var exitCode: Int?
    /// Who.
    public var operatorName: String
    /// Controller host and pid.
    public var controller: String
    /// Start.
    public var started: Date
    /// End.
    public var finished: Date?
    /// Why it stopped.
    public var reason: String?
    /// Target hosts.
    public var hosts: [String]
    /// `--var` values (JSON).
    public var vars: String

    init(_ row: Row) {
        id = row["id"]
        playbook = row["playbook"]
        playbookFile = row["playbook_file"]
        inventoryFile = row["inventory_file"]
        environment = row["environment"]
        kind = row["kind"]
        status = row["status"]
        exitCode = row["exit_code"]
        operatorName = row["operator"]
        controller = row["controller"]
        started = ISO8601.parse(row["started"]) ?? Date(timeIntervalSince1970: 0)
        finished = (row["finished"] as String?).flatMap(ISO8601.parse)
        reason = row["reason"]
        hosts = (row["hosts"] as String).split(separator: ",").map(String.init)
        vars = row["vars"]
    }

    /// Wall time so far or in all.
    public var duration: TimeInterval { (finished ?? Date()).timeIntervalSince(started) }
}

/// Timestamps as stored: RFC 3339 with milliseconds, UTC.
enum ISO8601 {
    /// `2026-11-25T12:26:14.123Z`, without a formatter object (one is costly to make, and the
    /// journal stamps every event).
    static func format(_ date: Date) -> String { Timestamp.milliseconds(date) }

    static func parse(_ text: String) -> Date? { Timestamp.parse(text) }
}

extension TimelineStore: RunStore {
    /// The database file.
    public var location: String { path }
    /// The environment lock kept in this store.
    public var environmentLock: (any EnvironmentLock)? { lock }
    /// A run's events in order.
    public func events(runID: String) throws -> [RunEvent] { try events(runID: runID, after: 0) }
    /// Records a resolved plan under its fingerprint.
    public func record(plan: ResolvedPlan, playbookFile: String, environment: String) throws {
        try savePlan(plan, playbookFile: playbookFile, environment: environment)
    }
}
