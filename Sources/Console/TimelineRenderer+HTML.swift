import Engine
import Foundation
import Playbook
import System

extension TimelineRenderer {
    /// A self-contained HTML page (no network): a Gantt chart per host and step, coloured by phase,
    /// failures outlined, the window and rollback point as vertical lines, and the event list.
    public func html() -> String {
        let svg = ganttSVG()
        let origin = run.started
        var rows = ""
        for event in events {
            rows += "<tr class='\(event.status ?? "")'><td>\(String(format: "%.3f", event.time.timeIntervalSince(origin)))s</td><td>\(event.kind.rawValue)</td>"
            rows += "<td>\(Self.escape(event.host ?? ""))</td><td>\(Self.escape(event.stepName ?? event.step ?? ""))</td><td>\(Self.escape(event.status ?? ""))</td>"
            rows += "<td>\(Self.escape(event.message ?? event.command ?? ""))</td></tr>\n"
        }
        // A playbook with several plays: each play and its batches, in run order.
        let plays = (events.first { $0.kind == .runStarted }?.runStarted?.playList ?? []).map { play in
            "play \(Self.escape(play.id)): batch \(play.batches.map(String.init).joined(separator: ", "))"
        }
        let playLine = plays.isEmpty ? "" : "<p class=\"meta plays\">" + plays.joined(separator: " → ") + "</p>"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>golive timeline \(Self.escape(run.id))</title>
            <style>
            body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
            h1 { font-size: 20px; } .meta { color: #555; }
            .host { font: 13px monospace; } .grid { stroke: #eee; }
            .bar { stroke: none; } .bar.precheck { fill: #8ab; } .bar.backup { fill: #a8c; } .bar.deploy { fill: #49d; }
            .bar.health { fill: #5b5; } .bar.verify { fill: #7c7; } .bar.rollback { fill: #e93; } .bar.failed { stroke: #c00; stroke-width: 2; fill-opacity: .75; }
            .legend span { display: inline-block; padding: 2px 8px; margin-right: 6px; color: #fff; border-radius: 3px; }
            table { border-collapse: collapse; margin-top: 16px; font-size: 12px; } td { padding: 2px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
            tr.failed td, tr.timed-out td, tr.unreachable td { color: #b00; }
            </style></head><body>
            <h1>\(Self.escape(run.playbook))</h1>
            <p class="meta">run \(Self.escape(run.id)) · \(Self.escape(run.kind)) on \(Self.escape(run.environment)) by \(Self.escape(run.operatorName)) · \(Self.escape(run.status))\(run.exitCode.map { " (exit \($0))" } ?? "") · \(String(format: "%.1f", run.duration)) s</p>
            \(playLine)
            <p class="legend"><span style="background:#8ab">precheck</span><span style="background:#a8c">backup</span><span style="background:#49d">deploy</span><span style="background:#5b5">health</span><span style="background:#e93">rollback</span></p>
            \(svg)
            \(metricsSVG())
            <table><tr><th>time</th><th>event</th><th>host</th><th>step</th><th>status</th><th>detail</th></tr>
            \(rows)</table>
            </body></html>
            """
    }

    /// The Gantt chart alone (an inline SVG): a row per host, a bar per step, phase colours,
    /// failures outlined, window and rollback-point lines. Reports embed it.
    public func ganttSVG() -> String {
        struct Bar {
            var host: String, label: String, phase: String, status: String, start: Double, end: Double, detail: String
        }
        var bars: [Bar] = []
        var open: [String: RunEvent] = [:]
        // Health rounds are drawn as a block: each round from the previous one (or the watch's start).
        var healthStart: [Int: Date] = [:]
        var lastRound: [String: Date] = [:]
        let origin = run.started
        for event in events {
            let key = "\(event.host ?? "")|\(event.step ?? "")|\(event.kind == .rollbackStepStarted || event.kind == .rollbackStepFinished ? "rb" : "")"
            switch event.kind {
            case .stepStarted, .rollbackStepStarted:
                open[key] = event
            case .stepFinished, .rollbackStepFinished, .controllerLost:
                let begin = open[key]?.time ?? event.time.addingTimeInterval(-Double(event.durationMS ?? 0) / 1000)
                open[key] = nil
                let phase = event.kind == .rollbackStepFinished ? "rollback" : (event.phase?.rawValue ?? "deploy")
                var detail = "\(event.stepName ?? event.step ?? "") [\(event.status ?? "")]"
                if let command = event.command { detail += "\n$ \(command)" }
                if let code = event.exitCode { detail += "\nexit \(code)" }
                if let message = event.message { detail += "\n\(message)" }
                if let stderr = event.stderr, !stderr.isEmpty { detail += "\n" + String(stderr.suffix(800)) }
                bars.append(
                    Bar(
                        host: event.host ?? "", label: event.stepName ?? event.step ?? "", phase: phase, status: event.status ?? "",
                        start: begin.timeIntervalSince(origin), end: event.time.timeIntervalSince(origin), detail: detail))
            case .phaseStarted where event.phase == .health:
                if let batch = event.batch { healthStart[batch] = event.time }
            case .probeRound:
                let end = event.time.timeIntervalSince(origin)
                let roundKey = "\(event.host ?? "")|\(event.batch ?? 0)|\(event.phase?.rawValue ?? "")"
                var begin = end - Double(event.durationMS ?? 0) / 1000
                if event.phase == .health, let previous = lastRound[roundKey] ?? event.batch.flatMap({ healthStart[$0] }) {
                    begin = previous.timeIntervalSince(origin)
                }
                lastRound[roundKey] = event.time
                bars.append(
                    Bar(
                        host: event.host ?? "", label: "health", phase: event.phase == .verify ? "verify" : "health",
                        status: event.status ?? "", start: begin, end: end,
                        detail: "health round \(event.attempt ?? 0) [\(event.status ?? "")]\n\(event.message ?? event.command ?? "")"))
            default:
                break
            }
        }
        let hosts = run.hosts.isEmpty ? Array(Set(bars.map(\.host))).sorted() : run.hosts
        let rowHeight = 26, labelWidth = 140, chartWidth = 900
        let (span, lines) = timeAxis()
        func x(_ seconds: Double) -> Int { labelWidth + Int(max(0, seconds) / span * Double(chartWidth)) }
        let height = rowHeight * (hosts.count + 1) + 20
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(labelWidth + chartWidth + 20)' height='\(height)' id='gantt'>"
        for (row, host) in hosts.enumerated() {
            let y = rowHeight * row + 10
            svg += "<text x='4' y='\(y + 17)' class='host'>\(Self.escape(host))</text>"
            svg += "<line x1='\(labelWidth)' x2='\(labelWidth + chartWidth)' y1='\(y + rowHeight)' y2='\(y + rowHeight)' class='grid'/>"
            for bar in bars where bar.host == host {
                let width = max(2, x(bar.end) - x(bar.start))
                let failed = !["ok", "skipped"].contains(bar.status)
                svg += "<rect class='bar \(bar.phase)\(failed ? " failed" : "")' data-phase='\(bar.phase)' x='\(x(bar.start))' y='\(y + 4)' width='\(width)' height='\(rowHeight - 8)'><title>\(Self.escape(bar.detail))</title></rect>"
            }
        }
        for (label, offset, color) in lines {
            svg += "<line x1='\(x(offset))' x2='\(x(offset))' y1='0' y2='\(height)' stroke='\(color)' stroke-width='2' stroke-dasharray='6 3' class='marker'/>"
            svg += "<text x='\(x(offset) + 3)' y='\(height - 4)' fill='\(color)' class='marker-label'>\(label)</text>"
        }
        svg += "</svg>"
        return svg
    }

    /// The charts' time axis: its length in seconds from the run's start, and the window's lines
    /// (label, offset, colour) that fall near the run.
    func timeAxis() -> (span: Double, lines: [(String, Double, String)]) {
        let origin = run.started
        let last = max(events.last?.time.timeIntervalSince(origin) ?? 1, 0.001)
        var span = last
        var lines: [(String, Double, String)] = []
        let details = events.first { $0.kind == .runStarted }?.details ?? [:]
        for (key, label, color) in [("window_start", "window opens", "#2a7"), ("rollback_point", "rollback point", "#d80"), ("window_end", "window closes", "#c22")] {
            if let text = details[key], let date = Timestamp.parse(text) {
                let offset = date.timeIntervalSince(origin)
                if offset >= 0 && offset <= last * 3 {
                    lines.append((label, offset, color))
                    span = max(span, offset)
                }
            }
        }
        return (span, lines)
    }

    /// The log and metric figures the probes read, one small chart per figure with a line per
    /// host, on the Gantt chart's time axis (window lines included). Empty when there are none.
    public func metricsSVG() -> String {
        let origin = run.started
        var series: [String: [String: [(Double, Double)]]] = [:]
        for event in events where event.kind == .probeRound {
            guard let host = event.host else { continue }
            for (name, text) in event.details ?? [:] where !name.hasPrefix("baseline ") {
                guard let value = Double(text) else { continue }
                series[name, default: [:]][host, default: []].append((event.time.timeIntervalSince(origin), value))
            }
        }
        guard !series.isEmpty else { return "" }
        let (span, markers) = timeAxis()
        let labelWidth = 140, chartWidth = 900, height = 90
        let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
        var out = "<h2 class='metrics'>Probe figures</h2>"
        for name in series.keys.sorted() {
            let hosts = series[name] ?? [:]
            let values = hosts.values.flatMap { $0.map(\.1) }
            let low = min(0, values.min() ?? 0), high = max(values.max() ?? 1, low + 1e-9)
            func x(_ seconds: Double) -> Int { labelWidth + Int(seconds / span * Double(chartWidth)) }
            func y(_ value: Double) -> Int { 10 + Int((1 - (value - low) / (high - low)) * Double(height - 20)) }
            var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(labelWidth + chartWidth + 20)' height='\(height)' class='metric' data-metric='\(Self.escape(name))'>"
            svg += "<text x='4' y='20' class='host'>\(Self.escape(name))</text>"
            svg += "<text x='4' y='\(height - 8)' class='marker-label'>\(Self.escape(ByteSize.format(low, bytes: false)))…\(Self.escape(ByteSize.format(high, bytes: false)))</text>"
            svg += "<line x1='\(labelWidth)' x2='\(labelWidth + chartWidth)' y1='\(y(low))' y2='\(y(low))' class='grid'/>"
            for (offset, host) in hosts.keys.sorted().enumerated() {
                let points = (hosts[host] ?? []).map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
                let colour = colours[offset % colours.count]
                svg += "<polyline fill='none' stroke='\(colour)' stroke-width='2' points='\(points)'><title>\(Self.escape(host))</title></polyline>"
            }
            for (label, offset, colour) in markers {
                svg += "<line x1='\(x(offset))' x2='\(x(offset))' y1='0' y2='\(height)' stroke='\(colour)' stroke-width='2' stroke-dasharray='6 3' class='marker'><title>\(label)</title></line>"
            }
            svg += "</svg>"
            out += svg
        }
        return out
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "'", with: "&#39;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
