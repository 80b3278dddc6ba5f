import Foundation

/// The lines typed on standard input, read by one thread for the whole process (started at the
/// first ``next()``): a wait for a line can be cancelled (a gate answered from elsewhere) without
/// leaving a read behind that would take the next line typed.
final class TerminalLines: @unchecked Sendable {
    private let lock = NSLock()
    private var typed: [String] = []
    private var ended = false
    private var started = false
    private var waiter: CheckedContinuation<String?, Never>?

    /// Forgets what was typed before now (a line typed ahead never answers a question asked later).
    func discardTyped() {
        lock.lock()
        typed.removeAll()
        lock.unlock()
    }

    /// The next line; nil when the input has ended or the waiting task is cancelled.
    func next() async -> String? {
        start()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                lock.lock()
                if !typed.isEmpty {
                    let line = typed.removeFirst()
                    lock.unlock()
                    continuation.resume(returning: line)
                } else if ended || Task.isCancelled {
                    lock.unlock()
                    continuation.resume(returning: nil)
                } else {
                    waiter = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let waiting = waiter
            waiter = nil
            lock.unlock()
            waiting?.resume(returning: nil)
        }
    }

    private func start() {
        lock.lock()
        defer { lock.unlock() }
        guard !started else { return }
        started = true
        Thread.detachNewThread { [self] in
            while true {
                let line = readLine()
                deliver(line)
                if line == nil { return }
            }
        }
    }

    private func deliver(_ line: String?) {
        lock.lock()
        if line == nil { ended = true } else if waiter == nil, let line { typed.append(line) }
        let waiting = waiter
        if waiting != nil { waiter = nil }
        lock.unlock()
        waiting?.resume(returning: line)
    }
}
