/// How a run ended: the `status` of `runFinished` and of the `runs` row. The exit code of every
/// command that runs an executor comes from here (``exitCode(rollbackRequested:)``).
public enum RunResult: String, Sendable, Hashable, Codable, CaseIterable {
    /// The change was applied and is healthy (or the command did what it says).
    case succeeded
    /// It failed and every changed host was rolled back.
    case rolledBack = "rolled-back"
    /// Refused before any change (window, lock, pre-check, unreachable host, changed plan).
    case refused
    /// The rollback did not complete: a person must act.
    case needsAttention = "needs-attention"
    /// Stopped by the operator (SIGINT/SIGTERM) after a clean rollback.
    case interrupted
    /// The run could not be carried out or recorded at all.
    case failed

    /// golive's exit code for this result.
    ///
    /// - Parameter rollbackRequested: the rollback was what the command was asked for (`golive
    ///   rollback`, `resume --rollback`, `rehearse --rollback-after`): a completed one is a success.
    public func exitCode(rollbackRequested: Bool = false) -> Int32 {
        switch self {
        case .succeeded: 0
        case .rolledBack: rollbackRequested ? 0 : 1
        case .refused: 3
        case .needsAttention, .failed: 4
        case .interrupted: 130
        }
    }
}
