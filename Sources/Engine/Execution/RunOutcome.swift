/// How a run ended, as the command that ran it reports it.
public struct RunOutcome: Sendable {
    /// The result (the `runFinished` status).
    public var result: RunResult
    /// The rollback was what was asked for (`golive rollback`, `resume --rollback`,
    /// `rehearse --rollback-after`): a completed one exits 0.
    public var rollbackRequested = false
    /// One line per host.
    public var hosts: [HostReport]
    /// What a person must fix (exit 4).
    public var attention: [String]
    /// Why the run stopped, when it did.
    public var reason: String?

    /// Creates an outcome.
    public init(
        result: RunResult, rollbackRequested: Bool = false, hosts: [HostReport] = [], attention: [String] = [],
        reason: String? = nil
    ) {
        self.result = result
        self.rollbackRequested = rollbackRequested
        self.hosts = hosts
        self.attention = attention
        self.reason = reason
    }

    /// golive's exit code.
    public var exitCode: Int32 { result.exitCode(rollbackRequested: rollbackRequested) }
    /// The result's word (`succeeded`, `rolled-back`...).
    public var status: String { result.rawValue }
}
