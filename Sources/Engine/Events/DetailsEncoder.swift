import Foundation

/// Encodes a payload struct into an event's flat `details` map (`[String: String]`, as stored).
///
/// Each top-level property becomes one entry: strings as they are, numbers and booleans as their
/// text (`12`, `0.5`, `true`), nil properties left out, and anything nested (lists, maps, structs)
/// as compact JSON with sorted keys. ``DetailsDecoder`` reads the same shape back.
public struct DetailsEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// The flat map of `value`.
    ///
    /// - Throws: `EncodingError` when a property cannot be encoded (a nested value JSON refuses).
    public func encode<T: Encodable>(_ value: T) throws -> [String: String] {
        let storage = FlatStorage()
        try value.encode(to: FlatEncoder(storage: storage))
        return storage.values
    }
}

/// The entries written so far.
final class FlatStorage {
    var values: [String: String] = [:]
}

/// The top-level encoder: only keyed containers make sense for a flat map.
struct FlatEncoder: Encoder {
    let storage: FlatStorage
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(FlatKeyedEncoder<Key>(storage: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        preconditionFailure("event details are a flat map: encode a struct, not a list")
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        preconditionFailure("event details are a flat map: encode a struct, not a single value")
    }
}

struct FlatKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let storage: FlatStorage
    var codingPath: [any CodingKey] = []

    private func put(_ text: String, _ key: Key) { storage.values[key.stringValue] = text }

    mutating func encodeNil(forKey key: Key) throws {}
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(value ? "true" : "false", key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(value, key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(String(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(String(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if let text = value as? String { return put(text, key) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        put(String(decoding: try encoder.encode(value), as: UTF8.self), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        preconditionFailure("event details are flat: nested containers are encoded as JSON by encode(_:forKey:)")
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        preconditionFailure("event details are flat: nested containers are encoded as JSON by encode(_:forKey:)")
    }

    mutating func superEncoder() -> any Encoder { FlatEncoder(storage: storage) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { FlatEncoder(storage: storage) }
}
