import Engine
import Foundation

/// What `golive watch` shows, folded from a run's events: the header, a row per host, the latest
/// probe rounds and the newest events. Pure: feed it events, read it.
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

    /// The run's id.
    public var runID: String
    /// Playbook title.
    public var playbook = ""
    /// Environment.
    public var environment = ""
    /// run, rehearse, check.
    public var kind = ""
    /// Operator.
    public var operatorName = ""
    /// When it started.
    public var started: Date?
    /// When it ended.
    public var finished: Date?
    /// Current phase (connect, precheck, batch n, health, rollback...).
    public var phase = "starting"
    /// Final status once ended.
    public var status: String?
    /// Window end and rollback point, when declared.
    public var windowEnd: Date?
    /// `end - rollback_reserve`.
    public var rollbackPoint: Date?
    /// Steps per host.
    public var stepsPerHost = 0
    /// Host rows in inventory order.
    public var hosts: [HostRow] = []
    /// The newest events (at most 200).
    public var recent: [RunEvent] = []
    /// Output of the newest finished step per host (for `e`).
    public var lastOutput: [String: String] = [:]
    /// The newest matching log lines from the log probes (host, line), newest last (last 20).
    public var logLines: [(host: String, line: String)] = []
    /// The newest sequence folded in.
    public var lastSequence: Int64 = 0

    /// An empty model for a run.
    public init(runID: String) { self.runID = runID }

    private mutating func row(_ host: String) -> Int {
        if let index = hosts.firstIndex(where: { $0.host == host }) { return index }
        hosts.append(HostRow(host: host))
        return hosts.count - 1
    }

    /// Folds events in (in sequence order).
    public mutating func apply(_ events: [RunEvent]) {
        let parse = ISO8601DateFormatter()
        for event in events {
            lastSequence = max(lastSequence, event.sequence ?? lastSequence)
            recent.append(event)
            switch event.kind {
            case .runStarted:
                let details = event.details ?? [:]
                playbook = details["playbook"] ?? ""
                environment = details["environment"] ?? ""
                kind = details["kind"] ?? ""
                operatorName = details["operator"] ?? ""
                started = started ?? event.time
                stepsPerHost = Int(details["steps_per_host"] ?? "") ?? 0
                windowEnd = details["window_end"].flatMap { parse.date(from: $0) }
                rollbackPoint = details["rollback_point"].flatMap { parse.date(from: $0) }
                for name in (details["hosts"] ?? "").split(separator: ",") { _ = row(String(name)) }
                for (index, batch) in (details["batch_hosts"] ?? "").split(separator: ";").enumerated() {
                    for name in batch.split(separator: ",") { hosts[row(String(name))].batch = index + 1 }
                }
            case .phaseStarted: phase = event.phase?.rawValue ?? phase
            case .batchStarted: phase = "batch \(event.batch ?? 0)"
            case .hostConnected: if let host = event.host { hosts[row(host)].state = "connected" }
            case .hostUnreachable: if let host = event.host { hosts[row(host)].state = "unreachable" }
            case .stepStarted:
                guard let host = event.host else { break }
                let index = row(host)
                hosts[index].step = event.stepName ?? event.step ?? ""
                hosts[index].state = "running"
                if event.phase == .backup || event.phase == .deploy, event.attempt ?? 1 == 1 { hosts[index].stepsStarted += 1 }
            case .stepFinished:
                guard let host = event.host else { break }
                let index = row(host)
                hosts[index].state = event.status == "ok" ? "ok" : "failed"
                lastOutput[host] = "$ \(event.command ?? "")\n\(event.stdout ?? "")\(event.stderr ?? "")"
            case .probeRound:
                guard let host = event.host else { break }
                let index = row(host)
                hosts[index].probes = Array((hosts[index].probes + [event.status == "ok"]).suffix(10))
                for (name, text) in event.details ?? [:] where !name.hasPrefix("baseline ") {
                    guard let value = Double(text) else { continue }
                    hosts[index].signals[name] = Array((hosts[index].signals[name, default: []] + [value]).suffix(30))
                }
                if let lines = event.stdout, event.phase == .health {
                    logLines = Array((logLines + lines.split(separator: "\n").map { (host, String($0)) }).suffix(20))
                }
            case .hostFailed: if let host = event.host { hosts[row(host)].state = "failed" }
            case .rollbackStarted: phase = "rollback"
            case .rollbackStepStarted:
                if let host = event.host {
                    hosts[row(host)].state = "rolling-back"
                    hosts[row(host)].step = event.stepName ?? ""
                }
            case .rollbackHostFinished: if let host = event.host { hosts[row(host)].state = "rolled-back" }
            case .attentionRequired: if let host = event.host { hosts[row(host)].state = "needs-attention" }
            case .runFinished:
                finished = event.time
                status = event.status
                phase = "finished"
            default: break
            }
        }
        if recent.count > 200 { recent.removeFirst(recent.count - 200) }
    }
}
