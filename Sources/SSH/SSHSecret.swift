/// A password or passphrase for the SSH layer; never printed.
///
/// `description`, `debugDescription` and string interpolation all give `[redacted]`.
/// The value is reachable only through ``revealForAuthentication()``.
public struct SSHSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    /// Wraps a secret value.
    public init(_ value: String) { self.value = value }

    /// The plain value, for handing to libssh2 during authentication only.
    public func revealForAuthentication() -> String { value }

    public var description: String { "[redacted]" }
    public var debugDescription: String { "[redacted]" }
}
