import Foundation

/// Counts bytes from the event-loop thread.
public final class ByteCounter: @unchecked Sendable {
    /// Starts at zero.
    public init() {}
    private let lock = NSLock()
    private var value = 0
    /// Adds bytes.
    public func add(_ count: Int) {
        lock.lock()
        value += count
        lock.unlock()
    }
    /// The bytes so far.
    public var total: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
