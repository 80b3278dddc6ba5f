internal import CLibSSH2
import Foundation

/// Says goodbye politely (SSH disconnect), then frees the session and closes the socket.
final class CloseOperation: LoopOperation, @unchecked Sendable {
    private let result = OneShot<Void>()
    private var disconnected = false

    override init() {
        super.init()
        deadline = ContinuousClock.now.advanced(by: .seconds(2))
    }

    func install(_ continuation: CheckedContinuation<Void, any Error>) { result.install(continuation) }

    override func fail(_ error: SSHError) { result.succeed(()) }

    override func deadlineReached(_ core: SessionCore) -> OperationProgress { done(core) }

    override func progress(_ core: SessionCore) -> OperationProgress {
        if let session = core.session, !disconnected {
            let rc = golive_ssh2_session_disconnect(session, "golive: done")
            if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
            disconnected = true
        }
        return done(core)
    }

    private func done(_ core: SessionCore) -> OperationProgress {
        result.succeed(())
        core.markBroken(core.error(.closed, .exec, message: "connection closed"))
        return .finished
    }
}
