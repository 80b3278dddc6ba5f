internal import CLibSSH2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One SSH connection's libssh2 state: socket, session, SFTP channel and its queue of operations.
///
/// Confined to its event loop's thread (a libssh2 session must never be touched from two threads).
/// Operations run one at a time, in the order they were submitted.
final class SessionCore: @unchecked Sendable {
    let target: SSHTarget
    unowned let loop: EventLoop
    var fd: Int32 = -1
    /// True when `fd` is one end of a socketpair owned by a jump host's tunnel.
    var fdIsTunnel = false
    var session: OpaquePointer?
    var sftp: OpaquePointer?
    private(set) var current: LoopOperation?
    private var queue: [LoopOperation] = []
    /// Set once the connection can no longer be used; every later operation fails with it.
    private(set) var broken: SSHError? {
        didSet { brokenFlag.set() }
    }
    private let brokenFlag = Flag()

    /// Readable from any thread: false once the connection broke or was closed.
    var isUsableSnapshot: Bool { !brokenFlag.isSet }
    /// When the next keepalive is due (authenticated sessions only).
    var keepaliveDue: ContinuousClock.Instant?
    var keepaliveInterval: Duration
    /// Ask the loop to run the current operation without waiting for the socket.
    var runSoon = false
    /// When the loop last gave the current operation a chance to run.
    var lastDriven = ContinuousClock.now
    /// Removed from the loop once true and idle.
    var finished = false
    /// True once this session carries jump-host tunnels.
    var pumpStarted = false

    init(target: SSHTarget, loop: EventLoop) {
        self.target = target
        self.loop = loop
        self.keepaliveInterval = target.keepaliveInterval
    }

    /// Builds an error naming this host.
    func error(_ kind: SSHError.Kind, _ operation: SSHError.Operation, code: Int32 = 0, message: String) -> SSHError {
        SSHError(
            kind: kind, host: target.name, endpoint: target.endpoint, operation: operation, code: code,
            message: message)
    }

    /// libssh2's last error code and message for this session.
    func lastError() -> (code: Int32, message: String) {
        guard let session else { return (0, "no session") }
        return (libssh2_session_last_errno(session), String(cString: golive_ssh2_last_error_message(session)))
    }

    /// Maps a failed libssh2 call to an error; socket-level failures mean the connection is lost.
    func failure(_ rc: Int32, _ operation: SSHError.Operation, kind: SSHError.Kind) -> SSHError {
        let (code, message) = lastError()
        let rcUsed = rc == 0 ? code : rc
        if [LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
            LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_BAD_SOCKET,
        ].contains(rcUsed) {
            return error(.connectionLost, operation, code: rcUsed, message: "connection lost: \(message)")
        }
        return error(kind, operation, code: rcUsed, message: message.isEmpty ? "libssh2 error \(rcUsed)" : message)
    }

    /// Queues an operation; it starts when those before it have finished.
    func enqueue(_ operation: LoopOperation) {
        if let broken {
            operation.fail(broken)
            return
        }
        if operation.cancelRequested {
            operation.fail(error(.cancelled, .exec, message: "cancelled"))
            return
        }
        queue.append(operation)
        runSoon = true
    }

    /// Cancels an operation, whether queued or running.
    func cancel(_ operation: LoopOperation) {
        operation.cancelRequested = true
        if let index = queue.firstIndex(where: { $0 === operation }) {
            queue.remove(at: index)
            operation.fail(error(.cancelled, .exec, message: "cancelled"))
        } else if current === operation {
            if operation.cancel(self) == .finished { current = nil }
            runSoon = true
        }
    }

    /// Runs the current operation (starting the next queued one if idle).
    func drive() {
        runSoon = false
        lastDriven = .now
        var budget = 4
        while budget > 0 {
            budget -= 1
            if current == nil {
                guard !queue.isEmpty else { return }
                current = queue.removeFirst()
            }
            guard let operation = current else { return }
            switch operation.progress(self) {
            case .finished:
                current = nil
                if broken != nil { failQueued() }
            case .blocked:
                return
            case .again:
                runSoon = true
                return
            }
        }
        if current != nil || !queue.isEmpty { runSoon = true }
    }

    /// The current operation's deadline passed.
    func deadlineReached() {
        guard let operation = current else { return }
        if operation.deadlineReached(self) == .finished {
            current = nil
            if broken != nil { failQueued() }
        }
        runSoon = true
    }

    /// Marks the connection unusable, fails what is queued and frees libssh2's state.
    func markBroken(_ reason: SSHError) {
        if broken == nil { broken = reason }
        if let operation = current {
            current = nil
            operation.fail(reason)
        }
        failQueued()
        release()
    }

    private func failQueued() {
        let pending = queue
        queue.removeAll()
        for operation in pending { operation.fail(broken ?? error(.closed, .exec, message: "connection closed")) }
    }

    /// Frees libssh2's state and the socket without talking to the peer.
    func release() {
        if let session {
            // The socket may be dead or the peer gone: a blocking free would hang, so free non-blocking
            // and accept that a half-sent disconnect is lost.
            libssh2_session_set_blocking(session, 0)
            _ = libssh2_session_free(session)
            self.session = nil
            sftp = nil
        }
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        keepaliveDue = nil
        finished = true
    }

    /// The poll events for the session socket given libssh2's wishes.
    func socketEvents() -> Int16 {
        // No session yet: a TCP connect in progress, which completes when the socket becomes writable.
        guard let session else { return Int16(POLLOUT) }
        let directions = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        return events == 0 ? Int16(POLLIN) : events
    }

    /// Sends a keepalive if one is due and safe; marks the connection lost if the send fails.
    func keepaliveIfDue(now: ContinuousClock.Instant) {
        guard let due = keepaliveDue, now >= due, let session else { return }
        guard current == nil || current?.keepaliveSafe == true else { return }
        var next: Int32 = 0
        let rc = libssh2_keepalive_send(session, &next)
        if rc < 0 && rc != LIBSSH2_ERROR_EAGAIN {
            markBroken(failure(rc, .keepalive, kind: .connectionLost))
            return
        }
        let seconds = next > 0 ? Duration.seconds(Int(next)) : keepaliveInterval
        keepaliveDue = now.advanced(by: seconds)
    }

    /// True when nothing is running or queued.
    var isIdle: Bool { current == nil && queue.isEmpty }
}

/// A one-way flag readable from any thread.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
