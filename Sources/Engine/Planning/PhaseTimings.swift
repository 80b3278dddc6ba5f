import Foundation

/// How long each phase and step of a run took, measured from its timeline: the timing projection
/// of ``RunState`` (see ``TimingSpans``).
public struct PhaseTimings: Sendable, Hashable {
    /// Wall seconds per phase (`connect`, `precheck`, `backup`, `deploy`, `health`, `rollback`).
    public var phases: [RunEvent.Phase: TimeInterval]
    /// Per step id: each host's duration in seconds (finished attempts, rollbacks excluded).
    public var steps: [String: [TimeInterval]]
    /// Step display names by id.
    public var stepNames: [String: String]
    /// Start to finish of the run.
    public var total: TimeInterval

    /// Measures a run's events.
    public init(events: [RunEvent]) {
        self.init(RunState.replay(events).timings)
    }

    /// The timings a run's state has folded.
    public init(_ spans: TimingSpans) {
        phases = spans.phases
        steps = spans.steps
        stepNames = spans.stepNames
        if let first = spans.first, let last = spans.last {
            total = last.timeIntervalSince(first)
        } else {
            total = 0
        }
    }

    /// The median of a list (0 when empty).
    public static func median(_ values: [TimeInterval]) -> TimeInterval {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
