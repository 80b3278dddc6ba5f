import PostgresNIO

extension PostgresRandomAccessRow: StoreRow {
    func text(_ column: String) -> String? {
        guard contains(column) else { return nil }
        return (try? self[column].decode(String?.self)) ?? nil
    }

    func integer(_ column: String) -> Int64? {
        guard contains(column) else { return nil }
        return (try? self[column].decode(Int64?.self)) ?? nil
    }

    func real(_ column: String) -> Double? {
        guard contains(column) else { return nil }
        return (try? self[column].decode(Double?.self)) ?? nil
    }

    /// The column as a boolean (nil: NULL or absent).
    func bool(_ column: String) -> Bool? {
        guard contains(column) else { return nil }
        return (try? self[column].decode(Bool?.self)) ?? nil
    }
}
