/// Asks the operator a gate's question (at the terminal the run was started from).
public protocol GateAnswerer: Sendable {
    /// Returns true for yes, false for no; nil when no answer comes (the input closed, or the
    /// task was cancelled because the gate was answered elsewhere first).
    func answer(_ prompt: String, done: [String], next: [String]) async -> Bool?
}
