-- golive's roles in a PostgreSQL team store: run once, as the database's owner, in the store's
-- database, after golive has created its schema there (any golive command run once as the
-- owner does). Safe to run again (after an upgrade adds a table, say).
--
--   golive_operator  runs go-lives: appends events, takes and releases locks, records plans,
--                    replays spill journals, unlocks.
--   golive_reader    on-call and reviewers: watch, runs, timeline, report, gates. `run`
--                    refuses it before touching anything.
--   golive_approver  a gate's approvers (a DBA, a change manager): what a reader may, and
--                    `golive answer` — nothing else is written.
--
-- Then give each person a login in one of them, e.g.:
--   CREATE ROLE ana LOGIN PASSWORD '...' IN ROLE golive_operator;
--   CREATE ROLE oncall LOGIN PASSWORD '...' IN ROLE golive_reader;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'golive_operator') THEN CREATE ROLE golive_operator NOLOGIN; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'golive_reader') THEN CREATE ROLE golive_reader NOLOGIN; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'golive_approver') THEN CREATE ROLE golive_approver NOLOGIN; END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO golive_operator, golive_reader, golive_approver', current_database());
END
$$;

GRANT USAGE ON SCHEMA golive TO golive_operator, golive_reader, golive_approver;
GRANT SELECT ON ALL TABLES IN SCHEMA golive TO golive_operator, golive_reader, golive_approver;

-- The journal: a run's row, its events and what is derived from them.
GRANT INSERT, UPDATE ON golive.runs TO golive_operator;
GRANT INSERT ON golive.events, golive.step_results, golive.probe_results TO golive_operator;
-- A backup recorded again (a retried step) replaces its row.
GRANT INSERT, UPDATE ON golive.artifacts TO golive_operator;
-- The environment lock: taken, its lease refreshed, released.
GRANT INSERT, UPDATE, DELETE ON golive.locks TO golive_operator;
-- Plans as signed off; spill journals replayed.
GRANT INSERT ON golive.plans, golive.spills TO golive_operator;
-- Gate answers: left by the operator's terminal and by approvers (who answered is the login,
-- set by the table's trigger; nobody may change or remove an answer).
GRANT INSERT ON golive.gate_answers TO golive_operator, golive_approver;
GRANT USAGE ON SEQUENCE golive.gate_answers_id_seq TO golive_operator, golive_approver;
