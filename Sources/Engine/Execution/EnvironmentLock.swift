import Foundation

/// The lock that keeps two runs off one environment at once.
public protocol EnvironmentLock: Sendable {
    /// Takes the lock for a run.
    ///
    /// - Throws: ``LockHeld`` naming the holder when another run has it.
    func acquire(environment: String, runID: String, operatorName: String, reason: String) async throws
    /// Refreshes the holder's lease (called while the run goes on).
    func refresh(environment: String, runID: String) async throws
    /// Releases the lock if this run holds it.
    func release(environment: String, runID: String) async throws
    /// The current holder, if any.
    func holder(of environment: String) async throws -> LockHeld?
    /// Releases whatever holds the lock, on purpose; the release is recorded on the holder's timeline.
    ///
    /// - Returns: the released holder, or nil when the environment was not locked.
    func forceRelease(environment: String, operatorName: String, reason: String) async throws -> LockHeld?
}

/// The environment is locked by another run.
public struct LockHeld: Error, Sendable, CustomStringConvertible {
    /// The environment.
    public var environment: String
    /// The run holding it.
    public var runID: String
    /// Who.
    public var holder: String
    /// Controller host and pid.
    public var controller: String
    /// Since when.
    public var since: Date
    /// Last lease refresh.
    public var lease: Date

    /// Creates the error.
    public init(environment: String, runID: String, holder: String, controller: String, since: Date, lease: Date) {
        self.environment = environment
        self.runID = runID
        self.holder = holder
        self.controller = controller
        self.since = since
        self.lease = lease
    }

    public var description: String {
        let age = Int(Date().timeIntervalSince(since))
        let leaseAge = Int(Date().timeIntervalSince(lease))
        let stale = leaseAge > 60 ? " — STALE: its lease was last refreshed \(leaseAge)s ago; if that run is dead, release it with `golive unlock \(environment) --reason ...`" : ""
        return "environment '\(environment)' is locked by run \(runID) (\(holder) on \(controller)), held for \(age)s\(stale)"
    }
}
