-- golive's roles in a PostgreSQL team store: run once, as the database's owner, in the store's
-- database, after golive has created its schema there (any golive command run once as the
-- owner does). Safe to run again (after an upgrade adds a table, say).
--
--   golive_operator  runs go-lives: appends events, takes and releases locks, records plans,
--                    replays spill journals, unlocks.
--   golive_reader    on-call and reviewers: watch, runs, timeline, report. `run` refuses it
--                    before touching anything.
--
-- Then give each person a login in one of them, e.g.:
--   CREATE ROLE ana LOGIN PASSWORD '...' IN ROLE golive_operator;
--   CREATE ROLE oncall LOGIN PASSWORD '...' IN ROLE golive_reader;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'golive_operator') THEN CREATE ROLE golive_operator NOLOGIN; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'golive_reader') THEN CREATE ROLE golive_reader NOLOGIN; END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO golive_operator, golive_reader', current_database());
END
$$;

GRANT USAGE ON SCHEMA golive TO golive_operator, golive_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA golive TO golive_operator, golive_reader;

-- The journal: a run's row, its events and what is derived from them.
GRANT INSERT, UPDATE ON golive.runs TO golive_operator;
GRANT INSERT ON golive.events, golive.step_results, golive.probe_results TO golive_operator;
-- A backup recorded again (a retried step) replaces its row.
GRANT INSERT, UPDATE ON golive.artifacts TO golive_operator;
-- The environment lock: taken, its lease refreshed, released.
GRANT INSERT, UPDATE, DELETE ON golive.locks TO golive_operator;
-- Plans as signed off; spill journals replayed.
GRANT INSERT ON golive.plans, golive.spills TO golive_operator;
