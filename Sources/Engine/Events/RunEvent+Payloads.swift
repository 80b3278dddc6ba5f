import Foundation

extension RunEvent {
    /// The status of a step, rollback action or probe round event, typed.
    public var stepStatus: StepStatus? { status.flatMap(StepStatus.init(rawValue:)) }

    /// How the run ended (`runFinished` only).
    public var runResult: RunResult? { kind == .runFinished ? status.flatMap(RunResult.init(rawValue:)) : nil }

    /// The run's details (`runStarted` only).
    public var runStarted: RunStartedDetails? { kind == .runStarted ? payload(RunStartedDetails.self) : nil }

    /// Exit code and duration (`runFinished` only).
    public var runFinished: RunFinishedDetails? { kind == .runFinished ? payload(RunFinishedDetails.self) : nil }

    /// The recorded backup (`backupRecorded` only).
    public var backup: BackupDetails? { kind == .backupRecorded ? payload(BackupDetails.self) : nil }

    /// Which play's steps a host's rollback covered, and what it did not undo (`rollbackHostFinished` only).
    public var rollbackHost: RollbackHostDetails? { kind == .rollbackHostFinished ? payload(RollbackHostDetails.self) : nil }

    /// How the host was connected (`hostConnected` only).
    public var connection: ConnectionDetails? { kind == .hostConnected ? payload(ConnectionDetails.self) : nil }

    /// What a step event records beyond the flat fields (empty when it records nothing).
    public var stepDetails: StepDetails { payload(StepDetails.self) ?? StepDetails() }

    /// The figures of a probe round.
    public var probeFigures: ProbeFigures { ProbeFigures(details: details ?? [:]) }

    /// Decodes the details as a payload; nil when there are none or they do not fit.
    public func payload<T: Decodable>(_ type: T.Type) -> T? {
        guard let details else { return nil }
        return try? DetailsDecoder().decode(type, from: details)
    }

    /// The flat details of a payload; nil when it has no field set.
    public static func details<T: Encodable>(_ payload: T) -> [String: String]? {
        guard let flat = try? DetailsEncoder().encode(payload), !flat.isEmpty else { return nil }
        return flat
    }
}
