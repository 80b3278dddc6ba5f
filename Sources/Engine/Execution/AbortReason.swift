/// Why a run stopped and rolled back (the `rollbackStarted` status).
public enum AbortReason: String, Sendable, Codable {
    case stepFailed = "step-failed"
    case healthFailed = "health-failed"
    case maxFailExceeded = "max-fail-exceeded"
    case rollbackPoint = "rollback-point"
    case gateRefused = "gate-refused"
    case interrupted
    case journalFailed = "journal-failed"
    /// The store stayed unreachable past the retry time: the run ends, its events in the spill journal.
    case storeLost = "store-lost"
    case requested
    /// Another controller took the run over (or its lock was released by force): stop, change nothing more.
    case fenced
}
