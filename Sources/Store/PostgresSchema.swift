/// The PostgreSQL store's schema, in its own schema `golive`, as versioned migrations: each is
/// applied once, in order, while an advisory lock keeps any other controller starting at the same
/// moment from migrating too. A store migrated by a newer golive
/// (a version this one does not know) is refused rather than written in a shape it does not know.
enum PostgresSchema {
    /// The advisory lock key migrations hold (`golive` in ASCII).
    static let migrationLock: Int64 = 0x676f_6c69_7665

    /// The migrations, in order.
    static let migrations: [(version: String, sql: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY, playbook TEXT NOT NULL, playbook_file TEXT NOT NULL, inventory_file TEXT NOT NULL,
                    environment TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, exit_code BIGINT,
                    operator TEXT NOT NULL, controller TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
                    reason TEXT, hosts TEXT NOT NULL, vars TEXT NOT NULL DEFAULT '{}', fence TEXT
                )
                """,
                "CREATE INDEX runs_by_start ON runs (started DESC, id DESC)",
                """
                CREATE TABLE events (
                    run_id TEXT NOT NULL REFERENCES runs(id), seq BIGINT NOT NULL, time TEXT NOT NULL, kind TEXT NOT NULL,
                    phase TEXT, batch BIGINT, host TEXT, step TEXT, step_name TEXT, status TEXT, exit_code BIGINT,
                    command TEXT, message TEXT, stdout TEXT, stderr TEXT, output_omitted BIGINT, duration_ms BIGINT,
                    attempt BIGINT, details TEXT,
                    PRIMARY KEY (run_id, seq)
                )
                """,
                "CREATE INDEX events_by_host ON events (run_id, host)",
                """
                CREATE TABLE step_results (
                    run_id TEXT NOT NULL, seq BIGINT NOT NULL, host TEXT NOT NULL, step TEXT NOT NULL, step_name TEXT,
                    phase TEXT, attempt BIGINT, finished TEXT NOT NULL, status TEXT NOT NULL, exit_code BIGINT,
                    duration_ms BIGINT, command TEXT, stdout TEXT, stderr TEXT, output_omitted BIGINT,
                    PRIMARY KEY (run_id, seq)
                )
                """,
                """
                CREATE TABLE probe_results (
                    run_id TEXT NOT NULL, seq BIGINT NOT NULL, host TEXT NOT NULL, batch BIGINT, phase TEXT,
                    round BIGINT, time TEXT NOT NULL, status TEXT NOT NULL, message TEXT, duration_ms BIGINT,
                    PRIMARY KEY (run_id, seq)
                )
                """,
                """
                CREATE TABLE artifacts (
                    run_id TEXT NOT NULL, host TEXT NOT NULL, step TEXT NOT NULL, path TEXT NOT NULL, archive TEXT NOT NULL,
                    bytes BIGINT, sha256 TEXT, existed BIGINT, time TEXT NOT NULL,
                    PRIMARY KEY (run_id, host, step)
                )
                """,
                """
                CREATE TABLE locks (
                    environment TEXT PRIMARY KEY, run_id TEXT NOT NULL, operator TEXT NOT NULL, controller TEXT NOT NULL,
                    reason TEXT, since TEXT NOT NULL, lease TEXT NOT NULL, token TEXT, lease_seconds DOUBLE PRECISION
                )
                """,
                """
                CREATE TABLE plans (
                    fingerprint TEXT PRIMARY KEY, created TEXT NOT NULL, playbook_file TEXT NOT NULL,
                    environment TEXT NOT NULL, entries TEXT NOT NULL
                )
                """,
            ]
        ),
        (
            "v2",
            [
                // Spill journals replayed into the store: merged into their run, or kept beside it
                // as an orphan record (its events here) when the run had moved on.
                """
                CREATE TABLE spills (
                    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, outcome TEXT NOT NULL, controller TEXT NOT NULL, fence TEXT,
                    acknowledged BIGINT NOT NULL, first_seq BIGINT, last_seq BIGINT, count BIGINT NOT NULL, created TEXT NOT NULL,
                    replayed TEXT NOT NULL, replayed_by TEXT NOT NULL, events TEXT
                )
                """,
                "CREATE INDEX spills_by_run ON spills (run_id)",
                // The store's own name: a spill journal is replayed into the store it was written
                // for, whatever address it is reached by (a failover, a tunnel).
                "CREATE TABLE store (id TEXT PRIMARY KEY)",
                "INSERT INTO store (id) VALUES (md5(random()::text || clock_timestamp()::text))",
            ]
        ),
        (
            "v3",
            [
                // Answers to waiting gates, left by any terminal that reaches the store; the run's
                // controller takes them in `id` order. Who answered is the login the server
                // authenticated, whatever the client wrote: the trigger puts `session_user` there.
                """
                CREATE TABLE gate_answers (
                    id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, gate_seq BIGINT NOT NULL,
                    answer TEXT NOT NULL CHECK (answer IN ('yes', 'no')), identity TEXT NOT NULL, verified INTEGER NOT NULL,
                    machine TEXT NOT NULL, reason TEXT NOT NULL, answered TEXT NOT NULL
                )
                """,
                "CREATE INDEX gate_answers_by_gate ON gate_answers (run_id, gate_seq, id)",
                """
                CREATE FUNCTION gate_answer_identity() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    NEW.identity := session_user;
                    NEW.verified := 1;
                    RETURN NEW;
                END
                $$
                """,
                """
                CREATE TRIGGER gate_answer_identity BEFORE INSERT OR UPDATE ON gate_answers
                FOR EACH ROW EXECUTE FUNCTION gate_answer_identity()
                """,
            ]
        ),
    ]

    /// Brings the database to the newest schema, once, whoever else is starting: one transaction
    /// that first takes a transaction-level advisory lock (a second controller waits for it, then
    /// finds nothing left to do; a migrator that stalls mid-way is ended by the server's
    /// `idle_in_transaction_session_timeout`, and its half is rolled back with it).
    ///
    /// - Throws: when the store cannot be migrated, or was migrated by a newer golive.
    static func migrate(_ channel: PostgresChannel) async throws {
        // Up to date already (the usual case): nothing is written, so a role that may not create
        // tables (an operator's, a reader's) opens the store as well as its owner.
        let current = try await channel.withConnection { connection -> Set<String>? in
            guard try await connection.rows("SELECT to_regclass('golive.migrations') IS NOT NULL AS present", []).first?.bool("present") == true
            else { return nil }
            return Set(try await connection.rows("SELECT version FROM golive.migrations", []).compactMap { $0.text("version") })
        }
        if let current {
            if let unknown = current.subtracting(migrations.map(\.version)).sorted().first { throw newer(unknown) }
            if Set(migrations.map(\.version)).isSubset(of: current) { return }
        }
        do {
            try await apply(channel)
        } catch let error as PostgresStoreError where error.sqlState == "42501" {
            throw PostgresStoreError(
                message: "the store's schema must be created or upgraded, and this role may not (\(error.message)): "
                    + "run golive once as the database's owner (see docs/team.md, Roles)", sqlState: error.sqlState)
        }
    }

    static func newer(_ version: String) -> PostgresStoreError {
        PostgresStoreError(
            message: "the store was migrated by a newer golive (schema \(version)); this golive knows up to \(migrations.last?.version ?? "none"): upgrade golive")
    }

    private static func apply(_ channel: PostgresChannel) async throws {
        try await channel.transaction { connection in
            try await connection.rows("SELECT pg_advisory_xact_lock(?)", [.integer(migrationLock)])
            try await connection.rows("CREATE SCHEMA IF NOT EXISTS golive", [])
            try await connection.rows("CREATE TABLE IF NOT EXISTS golive.migrations (version TEXT PRIMARY KEY, applied TEXT NOT NULL)", [])
            let applied = Set(try await connection.rows("SELECT version FROM golive.migrations", []).compactMap { $0.text("version") })
            let known = Set(migrations.map(\.version))
            if let unknown = applied.subtracting(known).sorted().first { throw newer(unknown) }
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.sql { try await connection.rows(statement, []) }
                try await connection.rows(
                    "INSERT INTO golive.migrations (version, applied) VALUES (?, ?)", [.text(migration.version), .text(StoreTime.format(.now))])
            }
        }
    }
}
