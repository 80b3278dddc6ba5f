/// A process that could not be started, or its pipes not made.
public struct ProcessError: Error, CustomStringConvertible, Sendable {
    /// What failed.
    public var message: String
    /// Creates an error.
    public init(message: String) { self.message = message }
    public var description: String { message }
}
