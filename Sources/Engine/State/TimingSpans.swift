import Foundation

/// How long each phase and step of a run took, folded from its events (see ``PhaseTimings``).
///
/// A phase's time is the sum, over batches, of the span from its first event to its last (hosts
/// work in parallel, so this is wall time, not host time). Steps are measured per host.
public struct TimingSpans: Sendable, Hashable {
    struct Span: Sendable, Hashable {
        var phase: RunEvent.Phase
        var start: Date
        var end: Date
    }

    var spans: [String: Span] = [:]
    var rollbackStart: Date?
    /// Per step id: each finished attempt's duration in seconds (cancelled ones and rollbacks excluded).
    public var steps: [String: [TimeInterval]] = [:]
    /// Step display names by id.
    public var stepNames: [String: String] = [:]
    /// The first and the last event's times.
    public var first: Date?
    /// The last event's time.
    public var last: Date?

    /// No events yet.
    public init() {}

    /// Wall seconds per phase.
    public var phases: [RunEvent.Phase: TimeInterval] {
        var phases: [RunEvent.Phase: TimeInterval] = [:]
        for span in spans.values { phases[span.phase, default: 0] += span.end.timeIntervalSince(span.start) }
        return phases
    }

    private mutating func extend(_ phase: RunEvent.Phase, batch: Int?, _ time: Date) {
        let key = "\(phase.rawValue)|\(batch ?? 0)"
        if let span = spans[key] {
            spans[key] = Span(phase: phase, start: min(span.start, time), end: max(span.end, time))
        } else {
            spans[key] = Span(phase: phase, start: time, end: time)
        }
    }

    mutating func apply(_ event: RunEvent) {
        first = first ?? event.time
        last = event.time
        switch event.kind {
        case .phaseStarted, .phaseFinished:
            if let phase = event.phase { extend(phase, batch: event.batch, event.time) }
        case .stepStarted, .stepFinished:
            guard let phase = event.phase else { break }
            extend(phase, batch: event.batch, event.time)
            if event.kind == .stepFinished, let step = event.step, event.status != StepStatus.cancelled.rawValue {
                steps[step, default: []].append(Double(event.durationMS ?? 0) / 1000)
                if let name = event.stepName { stepNames[step] = name }
            }
        case .rollbackStarted:
            rollbackStart = rollbackStart ?? event.time
        case .rollbackFinished, .rollbackHostFinished, .rollbackStepFinished:
            if let start = rollbackStart { spans["rollback|0"] = Span(phase: .rollback, start: start, end: event.time) }
        default:
            break
        }
    }
}
