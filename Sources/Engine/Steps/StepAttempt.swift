import Foundation

/// The result of one step attempt.
struct StepAttempt: Sendable {
    var ok: Bool
    var status: String
    var exitCode: Int?
    var command: String
    var stdout: String = ""
    var stderr: String = ""
    var omitted: Int = 0
    var message: String?
    var httpStatus: Int?
    /// What an upload or template sent.
    var transfer: (bytes: String, sha256: String)?
    /// The connection is gone (the host counts as unreachable).
    var lost = false
    /// The escalation (`become`) did not start the command: not retried (a wrong password tried
    /// again counts towards a lockout).
    var escalationFailed = false
}
