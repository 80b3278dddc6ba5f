/// Asks the operator a gate's question.
public protocol GateAnswerer: Sendable {
    /// Returns true for yes, false for no.
    func answer(_ prompt: String, done: [String], next: [String]) async -> Bool
}
