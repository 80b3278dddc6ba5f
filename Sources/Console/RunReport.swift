import Engine
import Foundation
import System

/// The post-go-live review of one run or rehearsal (`golive report RUN`): planned (the rehearsals
/// before it) vs actual per phase and step, what failed and how it was rolled back, the gates and
/// who answered them, the probe results, and the timeline chart.
public struct RunReport: Sendable {
    /// The run.
    public var run: RunRecord
    /// Its events.
    public let events: [RunEvent]
    /// What the events measure, computed once for every section.
    private let actual: PhaseTimings
    /// The rehearsals of the same playbook before it (newest first): the plan it is compared with.
    public var rehearsals: [(run: RunRecord, timings: PhaseTimings)]

    /// Creates a report.
    public init(run: RunRecord, events: [RunEvent], rehearsals: [(run: RunRecord, timings: PhaseTimings)]) {
        self.run = run
        self.events = events
        actual = PhaseTimings(events: events)
        self.rehearsals = rehearsals
    }

    /// The report as a printable document.
    public func printable() -> PrintableDocument {
        let details = events.first { $0.kind == .runStarted }?.details ?? [:]
        var facts: [(String, String)] = [
            ("Run", "\(run.id) (\(run.kind) of \(run.playbook))"),
            ("Environment", run.environment),
            ("Operator", "\(run.operatorName) on \(run.controller)"),
            ("Started", Timestamp.seconds(run.started)),
            ("Finished", run.finished.map { Timestamp.seconds($0) } ?? "not finished"),
            ("Duration", PlanDocument.seconds(run.duration)),
            ("Outcome", run.status + (run.exitCode.map { " (exit \($0))" } ?? "")),
        ]
        if let fingerprint = details["plan_fingerprint"] { facts.append(("Plan fingerprint", fingerprint)) }
        if let plays = events.first(where: { $0.kind == .runStarted })?.runStarted?.playList, !plays.isEmpty {
            facts.append(("Plays", plays.map { "\($0.id) (batch \($0.batches.map(String.init).joined(separator: ", ")))" }.joined(separator: ", then ")))
        }
        if let reason = run.reason { facts.append(("Reason recorded", reason)) }
        let sections: [PrintableDocument.Section] = [
            summarySection(), phaseSection(), stepSection(), failureSection(), rollbackSection(), gateSection(), probeSection(),
            chartSection(),
        ]
        return PrintableDocument(title: "Go-live report: \(run.playbook)", facts: facts, sections: sections)
    }

    /// The report as Markdown.
    public func markdown() -> String { printable().markdown() }

    /// The report as a self-contained, printable HTML page.
    public func html() -> String { printable().html() }

    // MARK: sections


    private func summarySection() -> PrintableDocument.Section {
        var lines: [String] = []
        let failures = events.filter { $0.kind == .stepFinished && !["ok", "skipped"].contains($0.status ?? "") && $0.status != nil }
        let rolledBack = Set(events.filter { $0.kind == .rollbackHostFinished }.compactMap(\.host))
        let attention = events.filter { $0.kind == .attentionRequired }
        switch run.status {
        case "succeeded": lines.append("The \(run.kind) succeeded on \(run.hosts.count) host(s).")
        default: lines.append("The \(run.kind) ended \(run.status).")
        }
        if let first = failures.first {
            lines.append(
                "First failure: \(first.stepName ?? first.step ?? "a step") on \(first.host ?? "?") (\(first.status ?? "failed")\(first.exitCode.map { ", exit \($0)" } ?? "")).")
        }
        if let start = events.first(where: { $0.kind == .rollbackStarted }) {
            let cause = start.message ?? start.status ?? ""
            let hosts = rolledBack.isEmpty ? "no host was rolled back" : "\(rolledBack.count) host(s) rolled back: \(rolledBack.sorted().joined(separator: ", "))"
            lines.append("Rollback started\(cause.isEmpty ? "" : ": \(cause)"); \(hosts).")
        }
        if !attention.isEmpty {
            lines.append("A person must act on \(Set(attention.compactMap(\.host)).count) host(s): see Failures.")
        }
        if rehearsals.isEmpty { lines.append("No rehearsal of this playbook before this run: there is no plan to compare with.") }
        return .init("Summary", lines.map { .paragraph($0) })
    }

    private func phaseSection() -> PrintableDocument.Section {
        var rows: [[String]] = []
        for phase in RunEvent.Phase.allCases where phase != .verify {
            let planned = rehearsals.compactMap { $0.timings.phases[phase] }
            guard let done = actual.phases[phase] ?? (planned.isEmpty ? nil : 0) else { continue }
            rows.append(Self.compare(phase.rawValue, planned: planned, actual: actual.phases[phase] == nil ? nil : done))
        }
        rows.append(Self.compare("whole run", planned: rehearsals.map(\.timings.total), actual: actual.total))
        let basis =
            rehearsals.isEmpty
            ? "No rehearsal before this run: planned times are unknown."
            : "Planned: the median of the \(rehearsals.count) rehearsal(s) before this run (\(rehearsals.map(\.run.id).joined(separator: ", ")))."
        return .init("Planned vs actual, per phase", [.paragraph(basis), .table(header: ["Phase", "Planned", "Actual", "Difference"], rows: rows)])
    }

    /// A row `name | planned | actual | difference`.
    static func compare(_ name: String, planned: [TimeInterval], actual: TimeInterval?) -> [String] {
        let median = planned.isEmpty ? nil : PhaseTimings.median(planned)
        let difference: String
        if let median, let actual, median > 0 {
            difference = String(format: "%+.0f%%", (actual - median) / median * 100)
        } else {
            difference = "—"
        }
        return [name, median.map(PlanDocument.seconds) ?? "—", actual.map(PlanDocument.seconds) ?? "did not run", difference]
    }

    private func stepSection() -> PrintableDocument.Section {
        var order: [String] = []
        var statuses: [String: [String: Int]] = [:]
        var names = actual.stepNames
        for event in events where event.kind == .stepFinished || event.kind == .stepSkipped {
            guard let step = event.step else { continue }
            if let name = event.stepName { names[step] = names[step] ?? name }
            if statuses[step] == nil { order.append(step) }
            statuses[step, default: [:]][event.kind == .stepSkipped ? "skipped" : (event.status ?? "?"), default: 0] += 1
        }
        let rows = order.map { step -> [String] in
            let planned = rehearsals.flatMap { $0.timings.steps[step] ?? [] }
            let durations = actual.steps[step] ?? []
            var row = Self.compare(
                "\(step) \(names[step] ?? "")", planned: planned, actual: durations.isEmpty ? nil : PhaseTimings.median(durations))
            row.insert(durations.max().map(PlanDocument.seconds) ?? "—", at: 3)
            row.append((statuses[step] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            return row
        }
        return .init(
            "Planned vs actual, per step",
            [
                .paragraph("Per host: planned is the median over the rehearsals' hosts, actual the median and the slowest host of this run."),
                .table(header: ["Step", "Planned", "Actual (median)", "Slowest host", "Difference", "Hosts"], rows: rows),
            ])
    }

    private func failureSection() -> PrintableDocument.Section {
        let failed = events.filter {
            // A step failure's hostFailed repeats its stepFinished: the health watch's stands alone.
            ($0.kind == .stepFinished && !["ok", "skipped"].contains($0.status ?? "ok")) || ($0.kind == .hostFailed && $0.phase != .deploy)
                || $0.kind == .hostUnreachable || $0.kind == .attentionRequired
        }
        guard !failed.isEmpty else { return .init("Failures", [.paragraph("None.")]) }
        let rows = failed.map { event -> [String] in
            let output = [event.stderr, event.stdout].compactMap { $0 }.first { !$0.isEmpty } ?? ""
            return [
                stamp(event.time), event.host ?? "", event.stepName ?? event.step ?? event.kind.rawValue, event.status ?? "",
                event.exitCode.map(String.init) ?? "", event.command ?? "", String((event.message.map { $0 + "\n" } ?? "") + output.suffix(400)),
            ]
        }
        return .init("Failures", [.table(header: ["Time", "Host", "Step", "Status", "Exit", "Command", "Message / output"], rows: rows)])
    }

    private func rollbackSection() -> PrintableDocument.Section {
        guard let start = events.first(where: { $0.kind == .rollbackStarted }) else {
            return .init("Rollback", [.paragraph("No rollback.")])
        }
        let steps = events.filter {
            $0.kind == .rollbackStepFinished || $0.kind == .rollbackHostFinished || $0.kind == .rollbackFinished
                || ($0.kind == .phaseStarted && $0.phase == .rollback)
        }
        let rows = steps.map { event -> [String] in
            let action: String
            switch event.kind {
            case .rollbackStepFinished: action = event.stepName ?? event.step ?? ""
            case .phaseStarted: action = event.message ?? "rollback batch"
            default: action = event.host == nil ? "rollback done" : "host done" + (event.rollbackHost?.play.map { " (play \($0))" } ?? "")
            }
            return [
                stamp(event.time), event.host ?? "", action,
                event.status ?? "", event.durationMS.map { PlanDocument.seconds(Double($0) / 1000) } ?? "",
            ]
        }
        let planned = rehearsals.compactMap { $0.timings.phases[.rollback] }
        var text = "Started at \(stamp(start.time)): \(start.message ?? start.status ?? "")."
        if let took = actual.phases[.rollback] {
            text += " It took \(PlanDocument.seconds(took))"
            text += planned.isEmpty ? "." : " (rehearsed: \(PlanDocument.seconds(PhaseTimings.median(planned))))."
        }
        var blocks: [PrintableDocument.Block] = [.paragraph(text), .table(header: ["Time", "Host", "Action", "Status", "Took"], rows: rows)]
        // What the rollback did not undo, per host: "rolled back" never claims more than was done.
        let unsaid = events.filter { $0.kind == .rollbackHostFinished }.compactMap { event -> [String]? in
            guard let host = event.host, let list = event.rollbackHost?.notUndoneList, !list.isEmpty else { return nil }
            return [host, list.joined(separator: ", ")]
        }
        if !unsaid.isEmpty {
            blocks.append(.paragraph("Started steps that nothing undid (no `rollback:`, no archive): what they did is still in place."))
            blocks.append(.table(header: ["Host", "Not undone"], rows: unsaid))
        }
        return .init("Rollback", blocks)
    }

    private func gateSection() -> PrintableDocument.Section {
        let asked = events.filter { $0.kind == .gateAsked }
        guard !asked.isEmpty else { return .init("Gates", [.paragraph("No gates.")]) }
        let answers = events.filter { $0.kind == .gateAnswered && $0.status != "refused" }
        let rows = asked.map { question -> [String] in
            let answer = answers.first { $0.batch == question.batch && $0.step == question.step && ($0.sequence ?? 0) > (question.sequence ?? 0) }
            let details = answer?.details ?? [:]
            let who = details["answered_by"].map { $0 + (details["verified"] == "no" ? " (claimed, not verified)" : "") }
            return [
                question.batch.map(String.init) ?? "", question.message ?? "", answer?.status ?? "not answered",
                who ?? answer?.message ?? "", details["machine"] ?? "", details["reason"] ?? "",
                answer.map { PlanDocument.seconds($0.time.timeIntervalSince(question.time)) } ?? "",
            ]
        }
        var blocks: [PrintableDocument.Block] = [
            .table(header: ["Batch", "Question", "Answer", "Answered by", "From", "Reason", "Waited"], rows: rows)
        ]
        let refused = events.filter { $0.kind == .gateAnswered && $0.status == "refused" }
        if !refused.isEmpty {
            blocks.append(.paragraph("Answers that did not count (not an approver):"))
            blocks.append(.table(header: ["When", "What"], rows: refused.map { [Timestamp.seconds($0.time), $0.message ?? ""] }))
        }
        return .init("Gates", blocks)
    }

    private func probeSection() -> PrintableDocument.Section {
        let rounds = events.filter { $0.kind == .probeRound }
        guard !rounds.isEmpty else { return .init("Probe results", [.paragraph("No health probes ran.")]) }
        var order: [String] = []
        var grouped: [String: [RunEvent]] = [:]
        for round in rounds {
            let key = "\(round.host ?? "")|\(round.phase?.rawValue ?? "")|\(round.batch ?? 0)"
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(round)
        }
        let rows = order.map { key -> [String] in
            let list = grouped[key] ?? []
            let ok = list.filter { $0.status == "ok" }.count
            let last = list.last
            return [
                last?.host ?? "", last?.phase?.rawValue ?? "", last?.batch.map(String.init) ?? "", "\(ok)/\(list.count)",
                last?.status ?? "", last?.message ?? "",
            ]
        }
        return .init("Probe results", [.table(header: ["Host", "Phase", "Batch", "Rounds ok", "Last", "Last message"], rows: rows)])
    }

    private func chartSection() -> PrintableDocument.Section {
        let renderer = TimelineRenderer(run: run, events: events)
        return .init("Timeline", [.html(renderer.ganttSVG(), markdown: "```\n\(textChart())```")])
    }

    /// A text Gantt chart: a row per host, one character per slice of the run, by phase.
    func textChart(width: Int = 60) -> String {
        let origin = run.started
        let span = max(events.last?.time.timeIntervalSince(origin) ?? 1, 0.001)
        let letters: [RunEvent.Phase: Character] = [
            .connect: "c", .precheck: "p", .backup: "b", .deploy: "D", .health: "h", .rollback: "R", .verify: "v",
        ]
        var rows: [String: [Character]] = [:]
        var open: [String: RunEvent] = [:]
        var lastEnd: [String: Date] = [:]
        for event in events {
            guard let host = event.host else { continue }
            let key = "\(host)|\(event.step ?? "")|\(event.kind == .rollbackStepStarted || event.kind == .rollbackStepFinished)"
            switch event.kind {
            case .stepStarted, .rollbackStepStarted: open[key] = event
            case .stepFinished, .rollbackStepFinished, .probeRound:
                // A probe round covers the time since the host's previous mark.
                let begin = open.removeValue(forKey: key)?.time ?? (event.kind == .probeRound ? lastEnd[host] : nil) ?? event.time
                lastEnd[host] = event.time
                let phase: RunEvent.Phase = event.kind == .rollbackStepFinished ? .rollback : (event.phase ?? .deploy)
                var row = rows[host] ?? Array(repeating: ".", count: width)
                let from = min(width - 1, Int(begin.timeIntervalSince(origin) / span * Double(width)))
                let to = min(width - 1, max(from, Int(event.time.timeIntervalSince(origin) / span * Double(width))))
                let mark = event.status == "ok" || event.status == "skipped" ? letters[phase] ?? "?" : "X"
                for index in from...to where row[index] == "." || mark == "X" { row[index] = mark }
                rows[host] = row
            default: break
            }
        }
        let hosts = run.hosts.isEmpty ? rows.keys.sorted() : run.hosts
        let width = max(6, hosts.map(\.count).max() ?? 0)
        var text = hosts.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) + " |" + String(rows[$0] ?? []) + "|\n" }.joined()
        text += "c connect  p precheck  b backup  D deploy  h health  R rollback  v verify  X failed; \(PlanDocument.seconds(span)) in all\n"
        return text
    }

    private func stamp(_ date: Date) -> String {
        String(format: "+%.2fs", date.timeIntervalSince(run.started))
    }
}
