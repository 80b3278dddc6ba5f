import Foundation

/// How long each phase and step of a run took, measured from its timeline.
///
/// A phase's time is the sum, over batches, of the span from its first event to its last (hosts
/// work in parallel, so this is wall time, not host time). Steps are measured per host.
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
        var spans: [String: (phase: RunEvent.Phase, start: Date, end: Date)] = [:]
        func extend(_ key: String, _ phase: RunEvent.Phase, _ time: Date) {
            if let span = spans[key] {
                spans[key] = (phase, min(span.start, time), max(span.end, time))
            } else {
                spans[key] = (phase, time, time)
            }
        }
        var steps: [String: [TimeInterval]] = [:]
        var names: [String: String] = [:]
        var rollbackStart: Date?
        for event in events {
            switch event.kind {
            case .phaseStarted, .phaseFinished:
                if let phase = event.phase { extend("\(phase.rawValue)|\(event.batch ?? 0)", phase, event.time) }
            case .stepStarted, .stepFinished:
                guard let phase = event.phase else { break }
                extend("\(phase.rawValue)|\(event.batch ?? 0)", phase, event.time)
                if event.kind == .stepFinished, let step = event.step, event.status != "cancelled" {
                    steps[step, default: []].append(Double(event.durationMS ?? 0) / 1000)
                    if let name = event.stepName { names[step] = name }
                }
            case .rollbackStarted:
                rollbackStart = rollbackStart ?? event.time
            case .rollbackFinished, .rollbackHostFinished, .rollbackStepFinished:
                if let start = rollbackStart { spans["rollback|0"] = (.rollback, start, event.time) }
            default:
                break
            }
        }
        var phases: [RunEvent.Phase: TimeInterval] = [:]
        for span in spans.values { phases[span.phase, default: 0] += span.end.timeIntervalSince(span.start) }
        self.phases = phases
        self.steps = steps
        stepNames = names
        if let first = events.first?.time, let last = events.last?.time {
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
