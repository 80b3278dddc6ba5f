import Foundation

/// A gate a run waits at, as its timeline shows it: asked, not yet decided (answered yes or no,
/// timed out), the run not ended. `golive gates`, `golive answer` and `watch` read it from the
/// events alone, so any terminal that reaches the store sees the same.
public struct WaitingGate: Sendable, Hashable {
    public var runID: String
    /// The sequence number of its `gateAsked` event (answers name it).
    public var sequence: Int64
    public var batch: Int?
    public var stepName: String
    public var question: String
    public var owner: String?
    /// Who may answer it; empty: anyone who reaches the run.
    public var approvers: [String]
    public var since: Date
    /// When it is answered no by itself, if its gate has a timeout.
    public var deadline: Date?

    /// The gate run `runID`'s `events` wait at; nil when none does.
    public static func of(_ events: [RunEvent]) -> WaitingGate? {
        guard let asked = events.last(where: { $0.kind == .gateAsked }), let sequence = asked.sequence else { return nil }
        let later = events.filter { ($0.sequence ?? 0) > sequence }
        let decided = later.contains { ($0.kind == .gateAnswered && $0.status != "refused") || $0.kind == .runFinished || $0.kind == .runResumed }
        guard !decided else { return nil }
        let details = asked.details ?? [:]
        return WaitingGate(
            runID: asked.runID, sequence: sequence, batch: asked.batch, stepName: asked.stepName ?? "", question: asked.message ?? "",
            owner: details["owner"], approvers: details["approvers"].map { $0.split(separator: ",").map(String.init) } ?? [],
            since: asked.time,
            deadline: details["timeout_ms"].flatMap(Double.init).map { asked.time.addingTimeInterval($0 / 1000) })
    }

    /// Whether `identity` may answer it.
    public func allows(_ identity: String) -> Bool { approvers.isEmpty || approvers.contains(identity) }

    /// The decision recorded for it in `events` (a `gateAnswered` yes or no after it); nil while it waits.
    public func decision(in events: [RunEvent]) -> RunEvent? {
        events.first { ($0.sequence ?? 0) > sequence && $0.kind == .gateAnswered && $0.status != "refused" }
    }
}
