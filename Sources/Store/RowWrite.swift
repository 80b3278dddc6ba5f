/// One row written by the projection of an event, in no store's dialect: ``SQLDialect`` renders it
/// for SQLite or PostgreSQL, so both stores derive the same rows from the same events.
struct RowWrite: Sendable, Hashable {
    /// How the row meets one already there.
    enum Kind: Sendable, Hashable {
        /// A new row (a duplicate key is an error).
        case insert
        /// A new row, unless its key is taken (then nothing).
        case insertIgnoring
        /// A new row, or the one under `key` replaced.
        case upsert(key: [String])
        /// `columns` set on the rows whose `matching` columns equal the last values.
        case update(matching: [String])
    }

    /// The table.
    var table: String
    /// The columns written (for an update: those set, then those matched).
    var columns: [String]
    /// One value per column.
    var values: [StoreValue]
    /// How it is written.
    var kind: Kind

    /// A write of `pairs` into `table`.
    init(_ kind: Kind, _ table: String, _ pairs: KeyValuePairs<String, StoreValue>) {
        self.kind = kind
        self.table = table
        columns = pairs.map(\.key)
        values = pairs.map(\.value)
    }
}
