import Foundation
import Playbook

/// How long a run should take, from the timeline of an earlier rehearsal of the same playbook,
/// scaled to this run's batches.
public struct Prediction: Sendable, Hashable {
    /// Expected time from start to the end of the last batch's health watch.
    public var run: TimeInterval
    /// Expected time of a full rollback (from the rehearsal's rollback, when it had one).
    public var rollback: TimeInterval?
    /// The rehearsal it is based on.
    public var rehearsalID: String
    /// When that rehearsal ran.
    public var rehearsed: Date

    /// Builds a prediction from a rehearsal's events, scaled from its batch count to `batches`.
    ///
    /// The time before the first batch (connect, pre-checks) is kept as is; the batches' time is
    /// scaled by the ratio of batch counts. Returns nil when the rehearsal never finished a batch.
    public static func from(rehearsal events: [RunEvent], batches: Int) -> Prediction? {
        guard let start = events.first(where: { $0.kind == .runStarted }) else { return nil }
        let batchStarts = events.filter { $0.kind == .batchStarted }
        let batchEnds = events.filter { $0.kind == .batchFinished && $0.status == "ok" }
        guard let firstBatch = batchStarts.first, let lastEnd = batchEnds.last, !batchEnds.isEmpty else { return nil }
        let setup = firstBatch.time.timeIntervalSince(start.time)
        let perBatch = lastEnd.time.timeIntervalSince(firstBatch.time) / Double(batchEnds.count)
        var rollback: TimeInterval?
        if let begin = events.first(where: { $0.kind == .rollbackStarted }),
            let end = events.last(where: { $0.kind == .rollbackHostFinished || $0.kind == .rollbackFinished })
        {
            rollback = end.time.timeIntervalSince(begin.time)
        }
        return Prediction(
            run: setup + perBatch * Double(max(1, batches)), rollback: rollback, rehearsalID: start.runID, rehearsed: start.time)
    }

    /// Whether the run fits before the window's rollback point, with the margin (negative when it does not).
    ///
    /// The rollback point is `end - max(rollback_reserve, rehearsed rollback time)`.
    public func fit(_ window: Window, startingAt now: Date) -> (fits: Bool, margin: TimeInterval, rollbackPoint: Date) {
        let reserve = max(window.rollbackReserve.seconds, rollback ?? 0)
        let point = window.end.addingTimeInterval(-reserve)
        let begin = max(now, window.start)
        let margin = point.timeIntervalSince(begin) - run
        return (margin >= 0, margin, point)
    }
}
