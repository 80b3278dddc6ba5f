import Engine
import Foundation

/// Draws a ``WatchModel`` into a fixed-size screen of plain lines (colour added by the caller).
public struct WatchScreen: Sendable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int
    /// First host row shown.
    public var scroll = 0
    /// Only hosts whose name contains this.
    public var filter = ""
    /// Show the output of this host's newest step instead of the event list.
    public var outputHost: String?

    /// Creates a screen of a size (at least 40x10).
    public init(width: Int, height: Int) {
        self.width = max(40, width)
        self.height = max(10, height)
    }

    /// Rows available for hosts.
    public var hostRows: Int { max(1, height - 4 - eventRows - 1) }
    var eventRows: Int { max(3, min(8, (height - 6) / 3)) }

    static func clock(_ seconds: TimeInterval) -> String {
        let total = Int(max(0, seconds))
        return total >= 3600 ? String(format: "%dh%02dm", total / 3600, (total % 3600) / 60) : String(format: "%02d:%02d", total / 60, total % 60)
    }

    /// A sparkline of values (`▁` lowest to `█` highest of them).
    static func sparkline<C: Collection>(_ values: C) -> String where C.Element == Double {
        guard let low = values.min(), let high = values.max() else { return "" }
        let marks = Array("▁▂▃▄▅▆▇█")
        return String(values.map { high > low ? marks[Int(($0 - low) / (high - low) * Double(marks.count - 1))] : marks[0] })
    }

    /// A figure, short: `0.52`, `12`, `1.5G`.
    static func figure(_ value: Double) -> String {
        for (unit, scale) in [("T", 1e12), ("G", 1e9), ("M", 1e6)] where abs(value) >= scale {
            return String(format: "%.1f", value / scale) + unit
        }
        if abs(value) >= 1e4 { return String(format: "%.0fk", value / 1e3) }
        return value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }

    /// The screen's lines, each at most `width` characters, exactly `height` lines.
    public func render(_ model: WatchModel, now: Date = Date()) -> [String] {
        var lines: [String] = []
        // A waiting gate takes two lines at the top.
        let hostRows = max(1, self.hostRows - (model.waitingGate == nil ? 0 : 2))
        let status = model.status.map { " [\($0)]" } ?? ""
        lines.append("golive watch — run \(model.runID)\(status) · \(model.kind) on \(model.environment) · \(model.playbook)")
        var second = "phase: \(model.phase) · operator \(model.operatorName)"
        if let started = model.started { second += " · elapsed " + Self.clock((model.finished ?? now).timeIntervalSince(started)) }
        if let point = model.rollbackPoint { second += " · rollback point in " + Self.clock(point.timeIntervalSince(now)) }
        if let end = model.windowEnd { second += " · window ends in " + Self.clock(end.timeIntervalSince(now)) }
        lines.append(second)
        if let gate = model.waitingGate {
            var text = "⏸ GATE WAITING: \(gate.question) · owner \(gate.owner ?? "the operator")"
            if !gate.approvers.isEmpty { text += " · approvers \(gate.approvers.joined(separator: ", "))" }
            text += " · waiting " + Self.clock(now.timeIntervalSince(gate.since))
            if let deadline = gate.deadline { text += " · no by itself in " + Self.clock(deadline.timeIntervalSince(now)) }
            lines.append(text)
            lines.append("  answer it: golive answer \(model.runID) yes|no --reason TEXT")
        }
        let rows = model.hosts.filter { filter.isEmpty || $0.host.contains(filter) }
        let counts = Dictionary(grouping: rows, by: \.state).mapValues(\.count)
        lines.append(
            "hosts \(rows.count): " + counts.keys.sorted().map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", ")
                + (filter.isEmpty ? "" : " (filter: \(filter))"))
        let nameWidth = min(24, max(4, rows.map(\.host.count).max() ?? 4))
        lines.append(
            "HOST".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + " BATCH STEP                      STATE           PROBES")
        let visible = rows.dropFirst(min(scroll, max(0, rows.count - hostRows))).prefix(hostRows)
        for row in visible {
            let step = "\(row.stepsStarted)/\(model.stepsPerHost) \(row.step)"
            let probes = row.probes.map { $0 ? "✓" : "✗" }.joined()
            // The log and metric figures: newest value and a sparkline of the run so far.
            let signals: String = row.signals.keys.sorted().map { name -> String in
                let history = row.signals[name] ?? []
                return "\(name) \(Self.figure(history.last ?? 0)) \(Self.sparkline(history.suffix(12)))"
            }.joined(separator: "  ")
            var line = row.host.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + " "
            line += (row.batch.map(String.init) ?? "-").padding(toLength: 5, withPad: " ", startingAt: 0) + " "
            line += String(step.prefix(25)).padding(toLength: 25, withPad: " ", startingAt: 0) + " "
            line += row.state.padding(toLength: 15, withPad: " ", startingAt: 0) + " "
            if signals.isEmpty {
                line += probes
            } else {
                let padded: String = probes.padding(toLength: 10, withPad: " ", startingAt: 0)
                line += "\(padded) \(signals)"
            }
            lines.append(line)
        }
        if !model.logLines.isEmpty {
            lines.append("── newest matching log lines ──")
            for (host, line) in model.logLines.suffix(3) { lines.append("\(host) \(line)") }
        }
        if rows.count > hostRows {
            lines.append("… \(rows.count - visible.count) more host(s): ↑↓ PgUp PgDn scroll")
        }
        while lines.count < height - eventRows - 2 { lines.append("") }
        if let host = outputHost {
            lines.append("── output of \(host)'s newest step (e to close) ──")
            let output = (model.lastOutput[host] ?? "(no output yet)").split(separator: "\n", omittingEmptySubsequences: false)
            lines += output.suffix(eventRows).map(String.init)
        } else {
            lines.append("── newest events ──")
            for event in model.recent.suffix(eventRows) {
                let offset = model.started.map { event.time.timeIntervalSince($0) } ?? 0
                var text = String(format: "%7.1fs ", offset) + event.kind.rawValue
                if let host = event.host { text += " \(host)" }
                if let name = event.stepName { text += " '\(name)'" }
                if let status = event.status { text += " [\(status)]" }
                if let message = event.message { text += " \(message)" }
                lines.append(text)
            }
        }
        while lines.count < height - 1 { lines.append("") }
        lines = Array(lines.prefix(height - 1))
        lines.append("q quit · ↑↓ PgUp PgDn scroll · f follow · / filter · e step output")
        return lines.map { line in
            let flat = TerminalText.visible(line.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " "))
            return flat.count > width ? String(flat.prefix(width - 1)) + "…" : flat
        }
    }
}
