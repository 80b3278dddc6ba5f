import GRDB

/// The SQLite store's schema, as versioned migrations (applied once, in order, by GRDB's migrator).
enum SQLiteSchema {
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
        migrator.registerMigration("v4-spills") { db in
            // Spill journals replayed into a team store, kept when history moves between stores.
            try db.execute(
                sql: """
                    CREATE TABLE spills (
                        id TEXT PRIMARY KEY, run_id TEXT NOT NULL, outcome TEXT NOT NULL, controller TEXT NOT NULL, fence TEXT,
                        acknowledged INTEGER NOT NULL, first_seq INTEGER, last_seq INTEGER, count INTEGER NOT NULL, created TEXT NOT NULL,
                        replayed TEXT NOT NULL, replayed_by TEXT NOT NULL, events TEXT
                    );
                    CREATE INDEX spills_by_run ON spills (run_id);
                    """)
        }
        migrator.registerMigration("v5-gate-answers") { db in
            // Answers to waiting gates, left by any terminal on this machine; taken in `id` order.
            try db.execute(
                sql: """
                    CREATE TABLE gate_answers (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, gate_seq INTEGER NOT NULL,
                        answer TEXT NOT NULL CHECK (answer IN ('yes', 'no')), identity TEXT NOT NULL, verified INTEGER NOT NULL,
                        machine TEXT NOT NULL, reason TEXT NOT NULL, answered TEXT NOT NULL
                    );
                    CREATE INDEX gate_answers_by_gate ON gate_answers (run_id, gate_seq, id);
                    """)
        }
        return migrator
    }
}
