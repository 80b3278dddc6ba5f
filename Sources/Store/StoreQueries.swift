import Foundation

/// The read queries both SQL stores run, written once with `?` placeholders (``SQLDialect``
/// numbers them for PostgreSQL).
enum StoreQueries {
    /// Runs, newest first, of one kind when `kind` is given.
    static func runs(limit: Int, kind: String?) -> (String, [StoreValue]) {
        if let kind {
            return ("SELECT * FROM runs WHERE kind = ? ORDER BY started DESC, id DESC LIMIT ?", [.text(kind), .integer(Int64(limit))])
        }
        return ("SELECT * FROM runs ORDER BY started DESC, id DESC LIMIT ?", [.integer(Int64(limit))])
    }

    static let runByID = "SELECT * FROM runs WHERE id = ?"
    /// At most two runs whose id begins with the text (its length first): one is a match, two are ambiguous.
    /// A prefix is compared as text, so `%` and `_` in it are no wildcards.
    static let runsByPrefix = "SELECT * FROM runs WHERE substr(id, 1, CAST(? AS INTEGER)) = ? LIMIT 2"
    static let events = "SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq"
    static let artifacts = "SELECT * FROM artifacts WHERE run_id = ? ORDER BY time"
    static let lastSequence = "SELECT MAX(seq) AS seq FROM events WHERE run_id = ?"
    static let gateAnswers = "SELECT * FROM gate_answers WHERE run_id = ? AND gate_seq = ? ORDER BY id"
    /// A gate answer left (the team store's trigger puts its own login in `identity`).
    static let postGateAnswer = """
        INSERT INTO gate_answers (run_id, gate_seq, answer, identity, verified, machine, reason, answered)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *
        """
    static let orphans = "SELECT * FROM spills WHERE run_id = ? AND outcome = 'orphan' ORDER BY created, id"
    static let finishedRehearsals = """
        SELECT * FROM runs WHERE kind = 'rehearse' AND playbook_file = ? AND status IN ('succeeded', 'rolled-back')
        AND started < ? ORDER BY started DESC, id DESC LIMIT ?
        """

    static func rehearsalArguments(_ playbookFile: String, limit: Int, before: Date?) -> [StoreValue] {
        [.text(playbookFile), .text(before.map(StoreTime.format) ?? "9999"), .integer(Int64(limit))]
    }
}
