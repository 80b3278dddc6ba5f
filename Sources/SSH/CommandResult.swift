import Foundation
import System

/// Which output stream a chunk came from.
public enum OutputStream: Sendable, Hashable {
    case stdout, stderr
}

/// How a remote command ended.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    /// It exited with this status.
    case exited(Int32)
    /// It was killed by a signal (`TERM`, `KILL`, ... without the `SIG` prefix).
    case signaled(String)
    /// It ran past its timeout; the channel was closed.
    case timedOut

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): "killed by SIG\(signal)"
        case .timedOut: "timed out"
        }
    }
}

/// The outcome of one remote command. A non-zero exit is a result, not an error.
public struct CommandResult: Sendable, Hashable {
    /// How it ended.
    public var termination: Termination
    /// Captured standard output: the first and last part when it exceeded the capture limit.
    public var stdout: Data
    /// Captured standard error, bounded the same way.
    public var stderr: Data
    /// Bytes of standard output left out of ``stdout`` (0 when complete).
    public var stdoutOmitted: Int
    /// Bytes of standard error left out of ``stderr``.
    public var stderrOmitted: Int
    /// Wall time from opening the channel to its close.
    public var duration: Duration
    /// Why the escalation never started the command, when the command was escalated and it did not.
    public var escalationFailure: Escalation.Failure?

    /// True when the command exited with status 0.
    public var succeeded: Bool { termination == .exited(0) }

    /// Standard output as text (lossy UTF-8).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error as text (lossy UTF-8).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// A sink for output as it arrives, called on the transport's event-loop thread: keep it short.
public typealias OutputHandler = @Sendable (OutputStream, Data) -> Void
