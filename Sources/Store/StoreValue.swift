/// A value bound to a statement of either SQL store.
public enum StoreValue: Sendable, Hashable {
    /// Text.
    case text(String)
    /// A 64-bit integer.
    case integer(Int64)
    /// A floating-point number.
    case real(Double)
    /// NULL.
    case null

    /// Text, or NULL.
    init(_ text: String?) { self = text.map(StoreValue.text) ?? .null }
    /// An integer, or NULL.
    init(_ number: Int?) { self = number.map { .integer(Int64($0)) } ?? .null }
    /// An integer, or NULL.
    init(_ number: Int64?) { self = number.map(StoreValue.integer) ?? .null }
    /// A number, or NULL.
    init(_ number: Double?) { self = number.map(StoreValue.real) ?? .null }
}
