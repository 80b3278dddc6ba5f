import Foundation

/// One transition of a run, as written to the timeline before the action it announces.
///
/// Events are flat records so the store, the JSON stream and other tools read them the same way;
/// fields that do not apply to a kind are nil. Command lines and output are already redacted.
public struct RunEvent: Codable, Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        case runStarted, lockTaken, lockReleased, windowChecked, windowOverride, prediction
        case hostConnected, hostUnreachable, escalationChecked
        case phaseStarted, phaseFinished
        case batchStarted, batchFinished
        case stepStarted, stepFinished, stepSkipped
        case backupRecorded
        case probeRound
        case gateAsked, gateAnswered
        case hostFailed
        case rollbackStarted, rollbackStepStarted, rollbackStepFinished, rollbackHostFinished, rollbackFinished
        case attentionRequired
        case controllerLost, processStopped, runResumed
        /// A notification delivered to a target, or given up (status `delivered`, `failed`).
        case notified
        case runFinished
    }

    /// The phase an event belongs to.
    public enum Phase: String, Codable, Sendable, Hashable, CaseIterable {
        case connect, precheck, backup, deploy, health, rollback, verify
    }

    /// Assigned by the journal: position in the run's timeline (1-based).
    public var sequence: Int64?
    /// The run.
    public var runID: String
    /// What happened.
    public var kind: Kind
    /// When (controller clock).
    public var time: Date
    /// Phase, when the event belongs to one.
    public var phase: Phase?
    /// Batch number (1-based).
    public var batch: Int?
    /// Inventory host name.
    public var host: String?
    /// Step identifier (`deploy[2]`).
    public var step: String?
    /// Step display name.
    public var stepName: String?
    /// Outcome: `ok`, `failed`, `timed-out`, `unreachable`, `skipped`, `cancelled`, `yes`, `no`...
    public var status: String?
    /// Exit code of a command.
    public var exitCode: Int?
    /// The command or request (redacted).
    public var command: String?
    /// Human-readable detail.
    public var message: String?
    /// Captured standard output (redacted, bounded).
    public var stdout: String?
    /// Captured standard error (redacted, bounded).
    public var stderr: String?
    /// Bytes of output left out by the bound.
    public var outputOmitted: Int?
    /// How long the step, probe or phase took, in milliseconds.
    public var durationMS: Int?
    /// Attempt number for retried steps (1-based).
    public var attempt: Int?
    /// Structured details (run info, artifact, window...), string-valued.
    public var details: [String: String]?

    /// Creates an event.
    public init(
        runID: String, kind: Kind, time: Date = Date(), phase: Phase? = nil, batch: Int? = nil, host: String? = nil,
        step: String? = nil, stepName: String? = nil, status: String? = nil, exitCode: Int? = nil, command: String? = nil,
        message: String? = nil, stdout: String? = nil, stderr: String? = nil, outputOmitted: Int? = nil,
        durationMS: Int? = nil, attempt: Int? = nil, details: [String: String]? = nil
    ) {
        self.runID = runID
        self.kind = kind
        self.time = time
        self.phase = phase
        self.batch = batch
        self.host = host
        self.step = step
        self.stepName = stepName
        self.status = status
        self.exitCode = exitCode
        self.command = command
        self.message = message
        self.stdout = stdout
        self.stderr = stderr
        self.outputOmitted = outputOmitted
        self.durationMS = durationMS
        self.attempt = attempt
        self.details = details
    }
}

/// Where a run's events go. Implementations make each event durable before `append` returns.
public protocol Journal: Sendable {
    /// Records an event durably.
    ///
    /// An event that carries a `sequence` is stored under it (the executor numbers its events, so
    /// that its state folds them in the journal's order); one without gets the next free number.
    /// Appends are stored in the order they are made.
    /// - Returns: the event's sequence number in its run.
    /// - Throws: when the event could not be recorded; the caller must not take the action it announces.
    @discardableResult
    func append(_ event: RunEvent) async throws -> Int64
    /// From now on, appends succeed only while `fence` is still the run's fence (the token of the
    /// environment lock this controller holds); afterwards they throw ``FencedOut``.
    func adopt(fence: String) async
    /// Tells `handler` of the store going away, coming back, or being given up for the spill
    /// journal; awaited before the appends waiting on it return.
    func observeOutages(_ handler: @escaping @Sendable (JournalOutage) async -> Void) async
}

extension Journal {
    /// A journal without fencing ignores the fence.
    public func adopt(fence: String) async {}
}

/// A journal append refused because another controller took the run over (or the lock was
/// released by force): this controller must not act again.
public struct FencedOut: Error, Sendable, CustomStringConvertible {
    /// The run.
    public var runID: String
    /// Creates the error.
    public init(runID: String) { self.runID = runID }
    public var description: String {
        "run \(runID) was taken over by another controller (or its lock was released by force): this controller may record nothing more"
    }
}

/// Receives events as they are recorded (console progress, `--json`). Never blocks the run.
public protocol RunObserver: Sendable {
    /// Called after an event was recorded.
    func observe(_ event: RunEvent)
}

/// A journal that keeps events in memory (engine tests, dry runs).
public actor MemoryJournal: Journal {
    /// Everything appended, in order.
    public private(set) var events: [RunEvent] = []

    /// Creates an empty journal.
    public init() {}

    @discardableResult
    public func append(_ event: RunEvent) async throws -> Int64 {
        var stored = event
        let sequence = event.sequence ?? ((events.last?.sequence ?? 0) + 1)
        stored.sequence = sequence
        // Kept in sequence order (appends made in order may arrive out of order).
        let index = events.lastIndex { ($0.sequence ?? 0) < sequence }.map { $0 + 1 } ?? 0
        events.insert(stored, at: index)
        return sequence
    }
}
