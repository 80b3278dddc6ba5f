/// What `runFinished` records besides its status: the exit code and the run's wall time.
public struct RunFinishedDetails: Codable, Sendable, Hashable {
    /// golive's exit code for the run.
    public var exitCode: Int?
    /// Start to finish, in milliseconds.
    public var durationMS: Int?

    enum CodingKeys: String, CodingKey {
        case exitCode = "exit_code", durationMS = "duration_ms"
    }

    /// Creates the details.
    public init(exitCode: Int?, durationMS: Int? = nil) {
        self.exitCode = exitCode
        self.durationMS = durationMS
    }
}
