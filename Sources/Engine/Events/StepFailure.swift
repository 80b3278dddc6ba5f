/// Why a step stopped a host, inside the engine: a kind to decide on, and the words to show.
public struct StepFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable, Hashable {
        /// The action ran and failed (exit status, HTTP status, `until`).
        case failed
        /// Its timeout stopped it.
        case timedOut = "timed-out"
        /// The host's connection was lost.
        case unreachable
        /// A template did not render, or a condition did not evaluate.
        case template
        /// The run was stopped while it ran.
        case cancelled
        /// The `run_once` step it depends on did not succeed on the first host.
        case runOnce = "run-once"
        /// The timeline cannot be written.
        case journal
    }

    /// What went wrong.
    public var kind: Kind
    /// The host.
    public var host: String
    /// The step's id (`deploy[2]`).
    public var step: String
    /// The step's name.
    public var stepName: String
    /// What happened, in words (`exit 3: no such file`).
    public var message: String

    /// Creates a failure.
    public init(_ kind: Kind, host: String, step: String, stepName: String, message: String) {
        self.kind = kind
        self.host = host
        self.step = step
        self.stepName = stepName
        self.message = message
    }

    /// `NAME: MESSAGE`, as the console and the timeline say it.
    public var description: String { "\(stepName): \(message)" }
}
