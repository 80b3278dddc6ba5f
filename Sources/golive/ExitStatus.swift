import ArgumentParser
import Engine

/// golive's exit codes, the same for every command.
enum ExitStatus: Int32 {
    /// The command did what it says (change applied and healthy).
    case success = 0
    /// The run failed and was rolled back completely.
    case rolledBack = 1
    /// Invalid input; nothing was touched.
    case invalidInput = 2
    /// Refused before any change.
    case refused = 3
    /// Rollback did not complete: a person must act.
    case needsAttention = 4
    /// Interrupted by the operator after a clean rollback.
    case interrupted = 130

    /// The exit status of a run's outcome (``RunResult/exitCode(rollbackRequested:)``).
    init(_ outcome: RunOutcome) {
        self = ExitStatus(rawValue: outcome.exitCode) ?? .needsAttention
    }

    var exitCode: ExitCode { ExitCode(rawValue) }
}
