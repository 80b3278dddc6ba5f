import Foundation

/// The lock that keeps two runs off one environment at once, with a lease its holder refreshes
/// and a fencing token that every takeover replaces.
///
/// The token is the holder's proof: the store also makes it the run's *fence*, so a journal
/// append of a controller whose token was replaced (taken over, force-unlocked) is refused, and
/// the hosts' lock directories carry it, so the remote commands of such a controller refuse to run.
public protocol EnvironmentLock: Sendable {
    /// Takes the lock for a run, or takes it over.
    ///
    /// - Returns: the new fencing token.
    /// - Throws: ``LockHeld`` naming the holder when another run has it (or, for a takeover,
    ///   when the holder is no longer the one `request.replacing` names).
    func acquire(_ request: LockRequest) async throws -> String
    /// Refreshes the holder's lease.
    ///
    /// - Returns: false when the lock is no longer this token's (taken over or released by force).
    func refresh(environment: String, token: String) async throws -> Bool
    /// Releases the lock if this token holds it.
    func release(environment: String, token: String) async throws
    /// The current holder, if any.
    func holder(of environment: String) async throws -> LockHeld?
    /// Releases whatever holds the lock, on purpose: the release is recorded on the holder's
    /// timeline and the holder's run is fenced (its controller, if alive, can append nothing more).
    ///
    /// - Returns: the released holder, or nil when the environment was not locked.
    func forceRelease(environment: String, operatorName: String, reason: String) async throws -> LockHeld?
}

/// What `acquire` is asked for.
public struct LockRequest: Sendable {
    /// The environment.
    public var environment: String
    /// The run taking it.
    public var runID: String
    /// Who.
    public var operatorName: String
    /// Why (shown to whoever is refused).
    public var reason: String
    /// How long the lock stays fresh without a refresh; after that it is shown as stale.
    public var lease: Duration
    /// A takeover (a recovery of this run): the token of the holder it replaces, which must still
    /// be the holder (nil: the lock must be free).
    public var replacing: String?

    /// Creates a request.
    public init(environment: String, runID: String, operatorName: String, reason: String, lease: Duration, replacing: String? = nil) {
        self.environment = environment
        self.runID = runID
        self.operatorName = operatorName
        self.reason = reason
        self.lease = lease
        self.replacing = replacing
    }
}

/// The environment is locked by another run (or by another controller of the same run).
public struct LockHeld: Error, Sendable, CustomStringConvertible {
    /// The environment.
    public var environment: String
    /// The run holding it.
    public var runID: String
    /// Who.
    public var holder: String
    /// Controller host and pid (`laptop pid 123`).
    public var controller: String
    /// Since when.
    public var since: Date
    /// Last lease refresh.
    public var lease: Date
    /// The lease's length: stale when not refreshed for this long.
    public var leaseLength: Duration = .seconds(60)
    /// The holder's fencing token.
    public var token: String?

    /// Creates the error.
    public init(
        environment: String, runID: String, holder: String, controller: String, since: Date, lease: Date,
        leaseLength: Duration = .seconds(60), token: String? = nil
    ) {
        self.environment = environment
        self.runID = runID
        self.holder = holder
        self.controller = controller
        self.since = since
        self.lease = lease
        self.leaseLength = leaseLength
        self.token = token
    }

    /// Seconds since the lease was last refreshed.
    public func leaseAge(at now: Date = Date()) -> TimeInterval { now.timeIntervalSince(lease) }

    /// True when the holder has not refreshed its lease within its length.
    public func isStale(at now: Date = Date()) -> Bool {
        leaseAge(at: now) > Double(leaseLength.components.seconds) + Double(leaseLength.components.attoseconds) / 1e18
    }

    /// The controller's host name and pid, parsed from `controller`.
    public var controllerProcess: (host: String, pid: Int32)? { ControllerLiveness.process(in: controller) }

    public var description: String {
        let age = Int(Date().timeIntervalSince(since))
        let stale =
            isStale()
            ? " — STALE: its lease was last refreshed \(Int(leaseAge()))s ago (lease \(leaseLength.components.seconds)s)" : ""
        return "environment '\(environment)' is locked by run \(runID) (\(holder) on \(controller)), held for \(age)s\(stale)"
    }
}
