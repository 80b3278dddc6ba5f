/// The end state of one host, as a run's summary shows it.
public struct HostReport: Sendable {
    /// Inventory name.
    public var host: String
    /// Where it stands.
    public var state: HostState
    /// Detail (`3 step(s) applied`, `pre-check failed: ...`).
    public var detail: String

    /// Creates a report line.
    public init(host: String, state: HostState, detail: String) {
        self.host = host
        self.state = state
        self.detail = detail
    }
}
