/// What differs between the two SQL stores' statements: placeholders, conflicts, row locks. Every
/// statement is written once with `?` placeholders and rendered here.
enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// `sql` with its `?` placeholders numbered for PostgreSQL (`$1`, `$2`, ...). golive's own
    /// statements hold no `?` other than placeholders.
    func render(_ sql: String) -> String {
        guard self == .postgres else { return sql }
        var rendered = ""
        var number = 0
        for character in sql {
            if character == "?" {
                number += 1
                rendered += "$\(number)"
            } else {
                rendered.append(character)
            }
        }
        return rendered
    }

    /// The statement that writes `row`, with `?` placeholders in the order of its values.
    func statement(for row: RowWrite) -> String {
        let columns = row.columns.joined(separator: ", ")
        let marks = Array(repeating: "?", count: row.columns.count).joined(separator: ", ")
        switch (row.kind, self) {
        case (.insert, _):
            return "INSERT INTO \(row.table) (\(columns)) VALUES (\(marks))"
        case (.insertIgnoring, .sqlite):
            return "INSERT OR IGNORE INTO \(row.table) (\(columns)) VALUES (\(marks))"
        case (.insertIgnoring, .postgres):
            return "INSERT INTO \(row.table) (\(columns)) VALUES (\(marks)) ON CONFLICT DO NOTHING"
        case (.upsert, .sqlite):
            return "INSERT OR REPLACE INTO \(row.table) (\(columns)) VALUES (\(marks))"
        case (.upsert(let key), .postgres):
            let updates = row.columns.filter { !key.contains($0) }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            return "INSERT INTO \(row.table) (\(columns)) VALUES (\(marks)) ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET \(updates)"
        case (.update(let matching), _):
            let set = row.columns.dropLast(matching.count).map { "\($0) = ?" }.joined(separator: ", ")
            let condition = matching.map { "\($0) = ?" }.joined(separator: " AND ")
            return "UPDATE \(row.table) SET \(set) WHERE \(condition)"
        }
    }

    /// What a `SELECT` that reads a row it is about to change appends, so that a concurrent
    /// writer waits (PostgreSQL); SQLite's writers are serialised already.
    var forUpdate: String { self == .postgres ? " FOR UPDATE" : "" }
}
