import Engine
import Foundation
import System

/// Renders a run's timeline as text, JSON or a self-contained HTML page with a Gantt chart.
public struct TimelineRenderer: Sendable {
    /// The run.
    public var run: RunRecord
    /// Its events in order.
    public var events: [RunEvent]

    /// Creates a renderer.
    public init(run: RunRecord, events: [RunEvent]) {
        self.run = run
        self.events = events
    }

    /// The stable JSON document: `{"run": {...}, "events": [...]}` (see docs/timeline.md).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Self.timestamp(date))
        }
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(TimelineDocument(run: RunSummary(run), events: events))
    }

    static func timestamp(_ date: Date) -> String {
        Timestamp.milliseconds(date)
    }

    /// One line per event, times relative to the start.
    public func text() -> String {
        var out = "Run \(run.id): \(run.playbook) on \(run.environment) (\(run.kind)) by \(run.operatorName)\n"
        out += "status \(run.status)" + (run.exitCode.map { " (exit \($0))" } ?? "") + ", started \(Self.timestamp(run.started))"
        out += String(format: ", %.1fs", run.duration) + (run.reason.map { "\nreason: \($0)" } ?? "") + "\n\n"
        for event in events {
            let offset = event.time.timeIntervalSince(run.started)
            var line = String(format: "%8.3fs  #%-4d %-20@", offset, event.sequence ?? 0, event.kind.rawValue as NSString)
            if let phase = event.phase { line += " \(phase.rawValue)" }
            if let batch = event.batch { line += " batch=\(batch)" }
            if let host = event.host { line += " \(host)" }
            if let step = event.step { line += " \(step)" }
            if let name = event.stepName { line += " '\(name)'" }
            if let status = event.status { line += " [\(status)]" }
            if let code = event.exitCode { line += " exit=\(code)" }
            if let duration = event.durationMS { line += " \(duration)ms" }
            if let message = event.message { line += " — \(message)" }
            out += line + "\n"
            if let command = event.command, event.kind == .stepStarted || event.kind == .rollbackStepStarted {
                out += "            $ \(command.split(separator: "\n").first.map(String.init) ?? "")\n"
            }
        }
        return out
    }
}

/// The JSON timeline document.
struct TimelineDocument: Encodable {
    var run: RunSummary
    var events: [RunEvent]
}

/// The run part of the JSON timeline.
struct RunSummary: Encodable {
    var id, playbook, playbookFile, inventoryFile, environment, kind, status, operatorName, controller: String
    var exitCode: Int?
    var started: Date
    var finished: Date?
    var reason: String?
    var hosts: [String]

    init(_ run: RunRecord) {
        id = run.id
        playbook = run.playbook
        playbookFile = run.playbookFile
        inventoryFile = run.inventoryFile
        environment = run.environment
        kind = run.kind
        status = run.status
        operatorName = run.operatorName
        controller = run.controller
        exitCode = run.exitCode
        started = run.started
        finished = run.finished
        reason = run.reason
        hosts = run.hosts
    }

    enum CodingKeys: String, CodingKey {
        case id, playbook, environment, kind, status, controller, started, finished, reason, hosts
        case playbookFile = "playbook_file", inventoryFile = "inventory_file", operatorName = "operator", exitCode = "exit_code"
    }
}
