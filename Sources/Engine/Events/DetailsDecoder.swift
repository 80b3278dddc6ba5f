import Foundation

/// Reads a payload struct back from an event's flat `details` map (see ``DetailsEncoder``).
///
/// Missing entries decode as nil for optional properties; a present entry that does not parse as
/// its property's type is an error, so a payload never silently reads a wrong value.
public struct DetailsDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes `type` from `details`.
    ///
    /// - Throws: `DecodingError` when a required entry is missing or an entry has the wrong form.
    public func decode<T: Decodable>(_ type: T.Type, from details: [String: String]) throws -> T {
        try T(from: FlatDecoder(values: details))
    }
}

struct FlatDecoder: Decoder {
    let values: [String: String]
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(FlatKeyedDecoder<Key>(values: values))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(
            [Any].self, .init(codingPath: codingPath, debugDescription: "event details are a flat map"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(
            String.self, .init(codingPath: codingPath, debugDescription: "event details are a flat map"))
    }
}

struct FlatKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let values: [String: String]
    var codingPath: [any CodingKey] = []
    var allKeys: [Key] { values.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { values[key.stringValue] != nil }
    func decodeNil(forKey key: Key) throws -> Bool { values[key.stringValue] == nil }

    private func text(_ key: Key) throws -> String {
        guard let text = values[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no '\(key.stringValue)' in the details"))
        }
        return text
    }

    private func parse<T: LosslessStringConvertible>(_ key: Key) throws -> T {
        let raw = try text(key)
        guard let value = T(raw) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "'\(raw)' is not a \(T.self)")
        }
        return value
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try parse(key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try text(key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try parse(key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try parse(key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try parse(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try parse(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try parse(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try parse(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try parse(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try parse(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try parse(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try parse(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try parse(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try parse(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let raw = try text(key)
        if let text = raw as? T { return text }
        return try JSONDecoder().decode(T.self, from: Data(raw.utf8))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        throw DecodingError.typeMismatch(
            [String: Any].self, .init(codingPath: codingPath, debugDescription: "event details are flat"))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "event details are flat"))
    }

    func superDecoder() throws -> any Decoder { FlatDecoder(values: values) }
    func superDecoder(forKey key: Key) throws -> any Decoder { FlatDecoder(values: values) }
}
