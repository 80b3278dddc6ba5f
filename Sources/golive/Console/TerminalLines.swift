import Foundation

/// The lines typed on standard input, read (with read(2)) by one thread for the whole process
/// (started at the first ``next()``): a wait for a line can be cancelled (a gate answered from elsewhere) without
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
        // read(2), not stdio: a thread blocked in readLine holds stdin's lock, and the process's
        // exit() would wait for it for ever.
        Thread.detachNewThread { [self] in
            var pending = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    if !pending.isEmpty { deliver(String(decoding: pending, as: UTF8.self)) }
                    deliver(nil)
                    return
                }
                pending.append(contentsOf: buffer[0..<count])
                while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    var line = pending[pending.startIndex..<end]
                    if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                    deliver(String(decoding: line, as: UTF8.self))
                    pending = Data(pending[(end + 1)...])
                }
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
