/// A secret value: never printed, never stored.
///
/// Its `description`, `debugDescription` and `Codable` form are `[redacted]`; the plain value is
/// reached only through ``revealForUse()``, called where a command is sent to a host.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, Codable {
    private let value: String

    /// The shortest value a secret may have: redaction finds secrets by their text, and shorter
    /// ones would be found in ordinary text.
    public static let minimumLength = 4

    /// Wraps a plain value.
    public init(_ value: String) { self.value = value }

    /// The plain value, for sending a command. Never log or store the result.
    public func revealForUse() -> String { value }

    public var description: String { "[redacted]" }
    public var debugDescription: String { "[redacted]" }

    /// Decodes as an empty secret (secrets are never stored, so there is nothing to read back).
    public init(from decoder: any Decoder) throws { value = "" }

    /// Encodes `[redacted]`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode("[redacted]")
    }
}
