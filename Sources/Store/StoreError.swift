/// The store cannot be used as it is (a file others can read, a symbolic link).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the file.
    public var message: String
    /// Creates the error.
    public init(message: String) { self.message = message }
    public var description: String { message }
}
