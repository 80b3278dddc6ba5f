import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Linux's POLLRDHUP (peer closed its side), which Glibc's module does not export.
private let pollReadHangUp: Int16 = 0x2000

/// A thread that drives many non-blocking libssh2 sessions with one `poll()` set.
///
/// Work reaches the thread through a locked inbox and a wake-up pipe; results leave it through
/// continuations. A few loops serve any number of hosts: the cost per host is a socket and
/// libssh2's buffers, not a thread.
final class EventLoop: @unchecked Sendable {
    private let lock = NSLock()
    private var inbox: [@Sendable () -> Void] = []
    private var stopRequested = false
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread: Thread?
    // Loop-thread state.
    private var cores: [SessionCore] = []
    private let clock = ContinuousClock()
    /// Signalled when the thread has left its loop (after freeing every session).
    private let exited = DispatchSemaphore(value: 0)

    /// Starts the loop's thread.
    init(name: String) {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { preconditionFailure("EventLoop: pipe() failed: errno \(errno)") }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        // The thread keeps the loop alive until stop() lets run() return.
        let thread = Thread { self.run() }
        thread.name = name
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Runs `work` on the loop thread, soon.
    func submit(_ work: @escaping @Sendable () -> Void) {
        lock.lock()
        inbox.append(work)
        let first = inbox.count == 1
        lock.unlock()
        if first { wake() }
    }

    /// Registers a session with this loop (on the loop thread).
    func register(_ core: SessionCore) {
        cores.append(core)
    }

    /// Stops the thread after freeing every session (their peers see the connection close).
    func stop() {
        lock.lock()
        stopRequested = true
        lock.unlock()
        wake()
    }

    /// Stops the thread and waits (bounded) until it has freed its sessions, so that no libssh2 or
    /// OpenSSL call is in flight when the process exits.
    func stopAndWait(timeout: Duration = .seconds(2)) {
        stop()
        _ = exited.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000)))
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func drainInbox() -> Bool {
        lock.lock()
        let work = inbox
        inbox.removeAll(keepingCapacity: true)
        let stop = stopRequested
        lock.unlock()
        for item in work { item() }
        return stop
    }

    private func run() {
        var fds: [pollfd] = []
        var owners: [SessionCore?] = []
        var drain = [UInt8](repeating: 0, count: 256)
        while true {
            if drainInbox() {
                for core in cores { core.markBroken(core.error(.closed, .exec, message: "transport shut down")) }
                cores.removeAll()
                exited.signal()
                return
            }
            for core in cores where core.runSoon { core.drive() }
            cores.removeAll { $0.finished && $0.isIdle }

            fds.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            owners.append(nil)
            let now = clock.now
            var nextWake = now.advanced(by: .seconds(1))
            var immediate = false
            for core in cores {
                if core.runSoon { immediate = true }
                if let operation = core.current {
                    if core.fd >= 0 {
                        fds.append(pollfd(fd: core.fd, events: core.socketEvents(), revents: 0))
                        owners.append(core)
                    }
                    for extra in operation.extraPollDescriptors() {
                        fds.append(pollfd(fd: extra.fd, events: extra.events, revents: 0))
                        owners.append(core)
                    }
                    if let deadline = operation.deadline, deadline < nextWake { nextWake = deadline }
                } else if core.fd >= 0 {
                    // Idle: only notice the peer going away.
                    fds.append(pollfd(fd: core.fd, events: pollReadHangUp, revents: 0))
                    owners.append(core)
                }
                if let due = core.keepaliveDue, due < nextWake { nextWake = due }
            }
            let timeout: Int32
            if immediate {
                timeout = 0
            } else {
                let wait = now.duration(to: nextWake)
                let ms = wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000
                timeout = Int32(max(0, min(ms + 1, cores.contains { $0.current != nil } ? 250 : 1000)))
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { preconditionFailure("EventLoop: poll() failed: errno \(errno)") }
            if fds[0].revents != 0 { while read(wakeRead, &drain, drain.count) > 0 {} }
            if ready > 0 {
                for index in 1..<fds.count where fds[index].revents != 0 {
                    guard let core = owners[index] else { continue }
                    if core.current != nil {
                        core.runSoon = true
                    } else if fds[index].fd == core.fd && core.fd >= 0 {
                        core.markBroken(core.error(.connectionLost, .keepalive, message: "connection closed by peer"))
                    }
                }
            }
            let after = clock.now
            for core in cores {
                if let deadline = core.current?.deadline, deadline <= after { core.deadlineReached() }
                core.keepaliveIfDue(now: after)
                // libssh2 can answer EAGAIN with the data it waits for already in its own buffers, so the
                // socket never becomes readable again: retry blocked operations at least every 250 ms
                // (retrying a call after EAGAIN is always allowed).
                if core.current != nil && !core.runSoon && core.lastDriven.duration(to: after) > .milliseconds(250) {
                    core.runSoon = true
                }
            }
        }
    }
}
