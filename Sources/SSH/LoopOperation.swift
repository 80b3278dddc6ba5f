import Foundation

/// What an operation reports after being given a chance to run.
enum OperationProgress {
    /// Done; the continuation has been resumed.
    case finished
    /// Waiting for the socket (libssh2 said EAGAIN) or a deadline.
    case blocked
    /// More work is ready now; run again soon (lets other sessions in between).
    case again
}

/// A unit of work on one session, driven by its event loop.
///
/// Confined to the loop thread: created anywhere, then touched only there. `@unchecked Sendable`
/// only so that it can be handed to the loop across the async boundary.
class LoopOperation: @unchecked Sendable {
    /// When the operation gives up (``deadlineReached(_:)``); nil for none.
    var deadline: ContinuousClock.Instant?
    /// Set by a cancellation that arrives before or while the operation runs.
    var cancelRequested = false

    /// Advances as far as possible without blocking.
    func progress(_ core: SessionCore) -> OperationProgress {
        preconditionFailure("LoopOperation.progress must be overridden")
    }

    /// The deadline passed: give up or move to a cleanup phase.
    func deadlineReached(_ core: SessionCore) -> OperationProgress {
        fail(core.error(.connectionLost, .exec, message: "operation timed out"))
        core.markBroken(core.error(.connectionLost, .exec, message: "an operation timed out mid-way; connection closed"))
        return .finished
    }

    /// The task awaiting this operation was cancelled.
    func cancel(_ core: SessionCore) -> OperationProgress {
        fail(core.error(.cancelled, .exec, message: "cancelled"))
        core.markBroken(core.error(.cancelled, .exec, message: "an operation was cancelled mid-way; connection closed"))
        return .finished
    }

    /// Resumes the awaiting task with an error (exactly once).
    func fail(_ error: SSHError) {
        preconditionFailure("LoopOperation.fail must be overridden")
    }

    /// Descriptors besides the session socket this operation waits on.
    func extraPollDescriptors() -> [(fd: Int32, events: Int16)] { [] }

    /// True when a keepalive may be sent while this operation is waiting (no half-sent packet).
    var keepaliveSafe: Bool { false }
}

/// Bridges a loop operation's single result to an awaiting task.
struct OneShot<Value: Sendable>: Sendable {
    private let box: Box

    private final class Box: @unchecked Sendable {
        var continuation: CheckedContinuation<Value, any Error>?
    }

    init() { box = Box() }

    /// Installs the continuation (loop thread).
    func install(_ continuation: CheckedContinuation<Value, any Error>) { box.continuation = continuation }

    /// True until resumed.
    var isPending: Bool { box.continuation != nil }

    /// Resumes with a value; later calls do nothing.
    func succeed(_ value: Value) {
        box.continuation?.resume(returning: value)
        box.continuation = nil
    }

    /// Resumes with an error; later calls do nothing.
    func fail(_ error: any Error) {
        box.continuation?.resume(throwing: error)
        box.continuation = nil
    }
}
