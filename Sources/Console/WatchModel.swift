import Engine
import Foundation
import System

/// What `golive watch` shows: the run's state (``RunState``, the same fold the run itself keeps)
/// and, for display only, the latest probe rounds, figures and events. Pure: feed it events, read it.
public struct WatchModel: Sendable {
    /// One host's row.
    public struct HostRow: Sendable, Hashable {
        /// Inventory name.
        public var host: String
        /// Its batch (1-based), when known.
        public var batch: Int?
        /// Steps started so far (backup + deploy).
        public var stepsStarted = 0
        /// The current or last step's name.
        public var step = ""
        /// `pending`, `connected`, `running`, `ok`, `failed`, `rolling-back`, `rolled-back`, `unreachable`, `needs-attention`.
        public var state = "pending"
        /// Latest probe rounds (newest last), `true` for ok.
        public var probes: [Bool] = []
        /// Log and metric figures from the probe rounds, by name, oldest first (last 30).
        public var signals: [String: [Double]] = [:]
    }

    /// The run's state, folded from its events.
    public private(set) var run: RunState
    /// Current phase as shown (connect, precheck, batch n, health, rollback, finished...).
    public var phase = "starting"
    /// The newest events (at most 200).
    public var recent: [RunEvent] = []
    /// Output of the newest finished step per host (for `e`).
    public var lastOutput: [String: String] = [:]
    /// The newest matching log lines from the log probes (host, line), newest last (last 20).
    public var logLines: [(host: String, line: String)] = []
    /// The gate the run waits at, if any.
    public var waitingGate: WaitingGate?
    private var probes: [String: [Bool]] = [:]
    private var figures: [String: [String: [Double]]] = [:]

    /// An empty model for a run.
    public init(runID: String) { run = RunState(runID: runID) }

    /// The run's id.
    public var runID: String { run.runID }
    /// Playbook title.
    public var playbook: String { run.info?.playbook ?? "" }
    /// Environment.
    public var environment: String { run.info?.environment ?? "" }
    /// run, rehearse, check.
    public var kind: String { run.info?.kind ?? "" }
    /// Operator.
    public var operatorName: String { run.info?.operatorName ?? "" }
    /// When it started.
    public var started: Date? { run.started }
    /// When it ended.
    public var finished: Date? { run.finished }
    /// Final status once ended (or what the reader found out: `controller lost?`).
    public var status: String? { run.result?.rawValue ?? controllerNote }
    /// Set by the reader when the run is recorded as running but its controller is gone.
    public var controllerNote: String?
    /// Window end, when declared.
    public var windowEnd: Date? { run.info?.windowEnd.flatMap(Self.date) }
    /// `end - rollback_reserve`.
    public var rollbackPoint: Date? { run.info?.rollbackPoint.flatMap(Self.date) }
    /// Steps per host.
    public var stepsPerHost: Int { run.info?.stepCount ?? 0 }
    /// The newest sequence folded in.
    public var lastSequence: Int64 { run.lastSequence }

    private static func date(_ text: String) -> Date? { Timestamp.parse(text) }

    /// Host rows in inventory order.
    public var hosts: [HostRow] {
        run.hostOrder.map { name in
            let host = run[name]
            return HostRow(
                host: name, batch: host.batch, stepsStarted: host.stepsStarted, step: host.lastStep, state: Self.shown(host),
                probes: probes[name] ?? [], signals: figures[name] ?? [:])
        }
    }

    /// The word a host's row shows.
    static func shown(_ host: HostRun) -> String {
        switch host.state {
        case .needsAttention: return "needs-attention"
        case .rolledBack where host.activity == .idle: return "rolled-back"
        default: break
        }
        switch host.activity {
        case .rollingBack: return "rolling-back"
        case .running: return "running"
        case .idle: break
        }
        if host.state == .unreachable || host.unreachable { return "unreachable" }
        if host.failure != nil { return "failed" }
        // Nothing has changed on it yet (pre-checks passed, or not reached): pending, not "ok".
        if host.state == .pending || host.state == .unchanged {
            return host.lastStatus == nil || host.lastStatus == .ok || host.lastStatus == .skipped ? "pending" : "failed"
        }
        switch host.lastStatus {
        case .ok?, .skipped?: return "ok"
        case nil: return host.connected ? "connected" : "pending"
        default: return "failed"
        }
    }

    /// Folds events in (in sequence order).
    public mutating func apply(_ events: [RunEvent]) {
        for event in events {
            run.apply(event)
            recent.append(event)
            switch event.kind {
            case .phaseStarted where event.phase == .rollback && event.message != nil:
                phase = event.message ?? "rollback"
            case .phaseStarted: phase = event.phase?.rawValue ?? phase
            case .batchStarted:
                // With several plays, the batch's play: `batch 2 (play web)`.
                let play = run.info?.playList.first { $0.batches.contains(event.batch ?? 0) }?.id
                phase = "batch \(event.batch ?? 0)" + (play.map { " (play \($0))" } ?? "")
            case .rollbackStarted: phase = "rollback"
            case .gateAsked: waitingGate = WaitingGate.of([event])
            case .gateAnswered where event.status != "refused": waitingGate = nil
            case .runResumed: waitingGate = nil
            case .runFinished:
                phase = "finished"
                waitingGate = nil
            case .stepFinished:
                if let host = event.host { lastOutput[host] = "$ \(event.command ?? "")\n\(event.stdout ?? "")\(event.stderr ?? "")" }
            case .probeRound:
                guard let host = event.host else { break }
                probes[host] = Array((probes[host, default: []] + [event.status == StepStatus.ok.rawValue]).suffix(10))
                for (name, value) in event.probeFigures.values {
                    figures[host, default: [:]][name] = Array(((figures[host]?[name] ?? []) + [value]).suffix(30))
                }
                if let lines = event.stdout, event.phase == .health {
                    logLines = Array((logLines + lines.split(separator: "\n").map { (host, String($0)) }).suffix(20))
                }
            default: break
            }
        }
        if recent.count > 200 { recent.removeFirst(recent.count - 200) }
    }
}
