import GRDB

extension Row: StoreRow {
    func text(_ column: String) -> String? { self[column] }
    func integer(_ column: String) -> Int64? { self[column] }
    func real(_ column: String) -> Double? { self[column] }
}

extension StoreValue {
    /// The value as SQLite binds it.
    var databaseValue: DatabaseValue {
        switch self {
        // Read back, SQLite's text ends at a NUL: a step's binary output is kept with its NULs shown
        // as ␀, as in PostgreSQL (whose text holds none).
        case .text(let text): (text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{2400}") : text).databaseValue
        case .integer(let number): number.databaseValue
        case .real(let number): number.databaseValue
        case .null: .null
        }
    }
}

extension Database {
    /// Writes `row` as SQLite says it.
    func write(_ row: RowWrite) throws {
        try cachedStatement(sql: SQLDialect.sqlite.statement(for: row)).execute(
            arguments: StatementArguments(row.values.map(\.databaseValue)))
    }
}
