import Console
import Engine
import Foundation

/// Shows a run's events in its own terminal: timestamped lines (coloured on a TTY), or one JSON
/// object per line with `--json`. Output is already redacted by the engine.
final class ProgressPrinter: RunObserver, @unchecked Sendable {
    private let json: Bool
    private let lock = NSLock()
    private let encoder: JSONEncoder
    private let start = Date()
    /// On a terminal: the live screen, redrawn in place.
    private let live: Bool
    private var model: WatchModel?
    private var drawnLines = 0
    private var lastDraw = Date.distantPast

    init(json: Bool, live: Bool = false) {
        self.json = json
        self.live = live && !json
        encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
    }

    func observe(_ event: RunEvent) {
        lock.lock()
        defer { lock.unlock() }
        if live {
            var current = model ?? WatchModel(runID: event.runID)
            current.apply([event])
            model = current
            if event.kind == .gateAsked || event.kind == .gateAnswered || event.kind == .attentionRequired {
                // Leave the frame where it is; the prompt or message goes below it.
                redraw(current, force: true)
                drawnLines = 0
                if let line = Self.line(Self.visible(event)) { Terminal.out(Data((line + "\n").utf8)) }
                return
            }
            redraw(current, force: event.kind == .runFinished || event.kind == .runStarted)
            return
        }
        if json {
            if var data = try? encoder.encode(event) {
                data.append(UInt8(ascii: "\n"))
                Terminal.out(data)
            }
            return
        }
        guard let line = Self.line(Self.visible(event)) else { return }
        let elapsed = String(format: "%6.1fs", Date().timeIntervalSince(start))
        Terminal.out(Data("\(Terminal.dim(elapsed)) \(line)\n".utf8))
    }

    /// Redraws the live screen over the previous frame (at most 5 times a second).
    private func redraw(_ model: WatchModel, force: Bool) {
        guard force || Date().timeIntervalSince(lastDraw) >= 0.2 else { return }
        lastDraw = Date()
        let size = TerminalSize.current()
        let rows = min(size.rows - 1, 8 + model.hosts.count + 8)
        var screen = WatchScreen(width: size.columns, height: max(12, rows))
        screen.scroll = max(0, (model.hosts.lastIndex { $0.state == "running" || $0.state == "rolling-back" } ?? 0) - screen.hostRows + 1)
        let lines = screen.render(model).dropLast()  // no key help: this screen takes no keys
        var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
        for (index, line) in lines.enumerated() {
            text += "\r" + Terminal.watchRow(line, header: index == 0) + "\u{1B}[K\n"
        }
        drawnLines = lines.count
        Terminal.out(Data(text.utf8))
    }

    /// The event with every text a host could have written made safe for the terminal.
    static func visible(_ event: RunEvent) -> RunEvent {
        var event = event
        event.message = event.message.map(TerminalText.visible)
        event.stdout = event.stdout.map(TerminalText.visible)
        event.stderr = event.stderr.map(TerminalText.visible)
        event.command = event.command.map(TerminalText.visible)
        event.stepName = event.stepName.map(TerminalText.visible)
        return event
    }

    static func line(_ event: RunEvent) -> String? {
        let host = event.host.map { Terminal.bold($0) + " " } ?? ""
        let step = event.stepName.map { "'\($0)'" } ?? ""
        let status = event.status ?? ""
        func painted(_ text: String) -> String {
            switch status {
            case "ok", "yes", "succeeded": Terminal.green(text)
            case "skipped", "not-enforced", "none", "tolerated-failure": Terminal.yellow(text)
            default: Terminal.red(text)
            }
        }
        switch event.kind {
        case .runStarted: return Terminal.bold("▶ \(event.message ?? "run") (run \(event.runID))")
        case .lockTaken, .lockReleased: return Terminal.dim(event.message ?? event.kind.rawValue)
        case .windowChecked, .windowOverride: return "window: \(event.message ?? status)"
        case .hostConnected: return "\(host)connected \(Terminal.dim(event.message ?? ""))"
        case .hostUnreachable: return "\(host)\(Terminal.red("unreachable")): \(event.message ?? "")"
        case .escalationChecked:
            return "\(host)\(event.status == "ok" ? Terminal.green("escalation") : Terminal.red("cannot escalate")): \(event.message ?? "")"
        case .phaseStarted where event.phase == .rollback:
            return Terminal.yellow("↺ \(event.message ?? "rollback")")
        case .phaseStarted: return Terminal.bold("— \(event.phase?.rawValue ?? "phase")\(event.batch.map { " (batch \($0))" } ?? "")")
        case .phaseFinished: return nil
        case .batchStarted: return Terminal.bold("═ batch \(event.batch ?? 0): \(event.message ?? "")")
        case .batchFinished: return "batch \(event.batch ?? 0) " + painted(status)
        case .stepStarted: return "\(host)→ \(step)" + ((event.attempt ?? 1) > 1 ? " (attempt \(event.attempt ?? 1))" : "")
        case .stepFinished:
            let text = "\(host)\(painted(status == "ok" ? "✓" : "✗")) \(step) \(Terminal.dim("\(event.durationMS ?? 0) ms"))"
            return status == "ok" ? text : text + " " + painted(status) + failure(of: event)
        case .stepSkipped: return "\(host)\(Terminal.yellow("–")) \(step) skipped (\(event.message ?? ""))"
        case .backupRecorded: return "\(host)backup \(event.message ?? "")"
        case .probeRound:
            return "\(host)health round \(event.attempt ?? 0): " + painted(status) + (event.message.map { " — \($0)" } ?? "")
        case .gateAsked:
            let details = event.details ?? [:]
            var text = Terminal.yellow("? gate: \(event.message ?? "")")
            if let owner = details["owner"] { text += " — owner: \(owner)" }
            if let approvers = details["approvers"] { text += " — approvers: \(approvers.split(separator: ",").joined(separator: ", "))" }
            return text + "\n  answer from any terminal: golive answer \(event.runID) yes|no --reason TEXT"
        case .gateAnswered:
            return status == "refused"
                ? Terminal.yellow("gate answer refused: \(event.message ?? "")") : "gate answered " + painted(status) + " (\(event.message ?? ""))"
        case .hostFailed: return "\(host)\(Terminal.red("failed")): \(event.message ?? "")"
        case .rollbackStarted: return Terminal.yellow("↺ rollback: \(event.message ?? status)")
        case .rollbackStepStarted: return "\(host)↺ \(step)"
        case .rollbackStepFinished:
            return "\(host)\(painted(status == "ok" ? "↺✓" : "↺✗")) \(step)" + (status == "ok" ? "" : " \(status)" + failure(of: event))
        case .rollbackHostFinished: return "\(host)\(Terminal.green("rolled back")) \(Terminal.dim(event.message ?? ""))"
        case .rollbackFinished: return "rollback " + painted(status)
        case .attentionRequired: return Terminal.red("! \(event.message ?? "")")
        case .controllerLost: return Terminal.red("controller lost: \(event.message ?? "")")
        case .processStopped: return Terminal.yellow("\(host)\(event.message ?? "")")
        case .notified: return status == "delivered" ? "✉ \(event.message ?? "")" : Terminal.yellow("✉ \(event.message ?? "")")
        case .runResumed: return Terminal.bold("▶ resumed: \(event.message ?? "")")
        case .runFinished: return nil
        case .prediction: return "prediction: \(event.message ?? "")"
        }
    }

    /// What a failed step or undo says: its message, its exit code and the end of its error output
    /// (a command that failed with only an exit code and some stderr still says why).
    static func failure(of event: RunEvent) -> String {
        var text = ""
        if let message = event.message, !message.isEmpty { text += ": \(message)" }
        if let code = event.exitCode { text += " (exit \(code))" }
        // Its error output, else (a command that says why on its standard output) that.
        let stderr = (event.stderr ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let said = stderr.isEmpty ? (event.stdout ?? "").trimmingCharacters(in: .whitespacesAndNewlines) : stderr
        if !said.isEmpty { text += "\n        " + said.split(separator: "\n").suffix(5).joined(separator: "\n        ") }
        return text
    }
}
