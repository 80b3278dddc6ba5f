/// How one attempt of a step, a rollback action or a probe ended, as stored in an event's `status`.
public enum StepStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// It did what it should.
    case ok
    /// It ran and failed (non-zero exit, wrong HTTP status, `until` still false, a template problem).
    case failed
    /// Its `timeout` stopped it.
    case timedOut = "timed-out"
    /// The connection to the host was lost or could not be made.
    case unreachable
    /// It did not run (`when:` false, `run_once` on another host, done before a resume).
    case skipped
    /// The run was stopped while it ran (abort, Ctrl-C, the rollback point).
    case cancelled
    /// It was started and never confirmed: the controller died (`controllerLost`).
    case lost

    /// True for `ok`.
    public var succeeded: Bool { self == .ok }
}
