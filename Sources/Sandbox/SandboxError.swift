/// A failure to set up or use simulated hosts.
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    /// What failed.
    public var message: String
    /// Creates an error.
    public init(message: String) { self.message = message }
    public var description: String { message }
}
