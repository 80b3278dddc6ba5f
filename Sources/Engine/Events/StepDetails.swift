/// What the step events (`stepStarted`, `stepFinished`, `stepSkipped`, `controllerLost`) record
/// beyond the flat fields, so that the journal alone rebuilds a host's state: which step it was
/// (beyond its index), what it registers, and the rollback it would run.
public struct StepDetails: Codable, Sendable, Hashable {
    /// The step's identity: a digest of its definition (section, name, kind, templates, options),
    /// so a recovery can tell that today's playbook still holds the same step at the same index.
    public var key: String?
    /// The name its result is registered under.
    public var register: String?
    /// `run_once`: it runs on the first host, the others share its result.
    public var runOnce: Bool?
    /// `ignore_errors`.
    public var ignoreErrors: Bool?
    /// It ran on the controller (`local`): so does its rollback.
    public var onController: Bool?
    /// The inventory host a delegated step runs on (`delegate_to:`), on behalf of the event's host.
    public var delegateTo: String?
    /// The rollback command as rendered at the time (redacted on the timeline).
    public var rollback: String?
    /// For the registered result: false when the command itself succeeded (an `until` may still fail the step).
    public var failed: Bool?
    /// The HTTP status of an `http` step.
    public var httpStatus: Int?
    /// Bytes an `upload` or `template` sent.
    public var bytes: String?
    /// The SHA-256 of what it sent.
    public var sha256: String?
    /// `run_once` on another host: the host whose result this one shares.
    public var sharedFrom: String?
    /// On `stepFinished`: no attempt follows (it succeeded, or its retries are spent or stopped).
    public var final: Bool?
    /// On `stepFinished`: the host's connection was lost during it.
    public var lost: Bool?
    /// The privilege it ran with: the login user and whom it became (`alice → root via sudo`).
    public var become: String?
    /// On `stepFinished`: the command never ran (the escalation refused to start it), so there is
    /// nothing of this attempt to undo.
    public var notRun: Bool?

    enum CodingKeys: String, CodingKey {
        case key = "step_key", register, runOnce = "run_once", ignoreErrors = "ignore_errors"
        case onController = "on_controller", delegateTo = "delegate_to", rollback, failed, httpStatus = "http_status", bytes, sha256
        case sharedFrom = "shared_from", final, lost = "connection_lost", become, notRun = "not_run"
    }

    /// Creates details; every field is optional.
    public init(
        key: String? = nil, register: String? = nil, runOnce: Bool? = nil, ignoreErrors: Bool? = nil,
        onController: Bool? = nil, rollback: String? = nil, failed: Bool? = nil, httpStatus: Int? = nil,
        bytes: String? = nil, sha256: String? = nil, sharedFrom: String? = nil, final: Bool? = nil, lost: Bool? = nil
    ) {
        self.key = key
        self.register = register
        self.runOnce = runOnce
        self.ignoreErrors = ignoreErrors
        self.onController = onController
        self.rollback = rollback
        self.failed = failed
        self.httpStatus = httpStatus
        self.bytes = bytes
        self.sha256 = sha256
        self.sharedFrom = sharedFrom
        self.final = final
        self.lost = lost
    }

    /// True when no field is set (the event then carries no details).
    public var isEmpty: Bool { self == StepDetails() }
}
