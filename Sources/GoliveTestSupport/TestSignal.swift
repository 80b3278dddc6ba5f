import Foundation

/// A one-shot event a test can await (no sleeps).
public final class TestSignal: @unchecked Sendable {
    /// Not fired yet.
    public init() {}
    private let lock = NSLock()
    private var fired = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Fires (once; later calls do nothing).
    public func fire() {
        lock.lock()
        let pending = fired ? [] : waiters
        fired = true
        waiters.removeAll()
        lock.unlock()
        for waiter in pending { waiter.resume() }
    }

    /// Returns once fired.
    public func wait() async {
        await withCheckedContinuation { continuation in
            lock.lock()
            if fired {
                lock.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }
}
