import Engine
import Foundation

/// The environment lock's rules, the same in both stores: who may take it, and what a takeover
/// must find.
enum LockRules {
    /// Refuses `request` unless it may take the lock now held by `current` (nil: nobody).
    ///
    /// - Throws: ``LockHeld`` naming the holder when another run holds it, or when a takeover
    ///   finds a holder other than the one it was decided on (or none: the lock was released
    ///   while the recovery was being decided).
    static func check(_ request: LockRequest, current: LockHeld?) throws {
        if let current {
            // A takeover replaces exactly the holder it was decided on; anything else is held.
            guard current.runID == request.runID, let replacing = request.replacing, current.token == replacing else { throw current }
        } else if request.replacing != nil {
            throw LockHeld(
                environment: request.environment, runID: request.runID, holder: "nobody",
                controller: "the lock was released while this recovery was being decided", since: Date(), lease: Date())
        }
    }

    /// This controller, as a lock row and a run record name it: `HOST pid PID`.
    static var controller: String {
        let process = ProcessInfo.processInfo
        return "\(process.hostName) pid \(process.processIdentifier)"
    }

    /// The fence a released run is given: no controller holds it, so its journal appends nothing more.
    static func releasedFence(after held: LockHeld) -> String { StoreTokens.released(after: held.token) }
}
