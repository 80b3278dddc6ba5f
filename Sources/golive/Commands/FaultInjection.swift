import Engine
import Foundation

/// Fault injection for the reliability tests: `GOLIVE_FAULT_KILL_AFTER_EVENTS=N` makes the controller
/// SIGKILL itself right after its Nth event is durable, as if the laptop died at that point.
final class KillingJournal: Journal, @unchecked Sendable {
    private let inner: any Journal
    private let limit: Int
    private let lock = NSLock()
    private var count = 0

    /// Wraps `journal` when the variable is set; returns it unchanged otherwise.
    static func wrap(_ journal: any Journal) -> any Journal {
        guard let text = ProcessInfo.processInfo.environment["GOLIVE_FAULT_KILL_AFTER_EVENTS"], let limit = Int(text), limit > 0
        else { return journal }
        return KillingJournal(inner: journal, limit: limit)
    }

    private init(inner: any Journal, limit: Int) {
        self.inner = inner
        self.limit = limit
    }

    @discardableResult
    func append(_ event: RunEvent) async throws -> Int64 {
        let sequence = try await inner.append(event)
        let reached = lock.withLock {
            count += 1
            return count >= limit
        }
        if reached { kill(getpid(), SIGKILL) }
        return sequence
    }
}
