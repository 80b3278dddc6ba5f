import ArgumentParser
import Dispatch
import Engine
import Foundation
import Playbook
import Store

/// Runs a playbook as `run`, `rehearse` or `check`: loads and validates, opens the store, wires
/// the executor to SSH, the journal, the console and the signals, and maps the outcome to the exit code.
enum RunDriver {
    static func execute(
        kind: RunOptions.Kind, playbook: String, input: InputOptions, execution: ExecutionOptions, rollbackAfter: Bool = false
    ) async throws {
        if execution.noColor { Terminal.colorDisabled = true }
        guard let play = try InputLoader.load(playbook: playbook, options: input, requireSecrets: true) else {
            throw ExitStatus.invalidInput.exitCode
        }
        let storePath = execution.storePath(besidePlaybook: playbook)
        let store: TimelineStore
        do {
            store = try TimelineStore(path: storePath)
        } catch {
            Terminal.error("error: cannot open the timeline store \(storePath): \(error)")
            throw ExitStatus.refused.exitCode
        }
        let plan = ResolvedPlan(play)
        if let expected = execution.expectPlan, expected != plan.fingerprint {
            refuseChangedPlan(expected: expected, current: plan, store: store)
            throw ExitStatus.refused.exitCode
        }
        let runID = StoreLocation.newRunID()
        var options = RunOptions(
            kind: kind, runID: runID, operatorName: StoreLocation.operatorName,
            playbookDirectory: URL(fileURLWithPath: playbook).deletingLastPathComponent().path)
        options.forks = execution.forks
        options.assumeYes = execution.yes
        options.noRollback = execution.noRollback
        options.ignoreWindowReason = execution.ignoreWindow ? execution.reason : nil
        options.waitForWindow = execution.waitForWindow
        options.rollbackAfter = rollbackAfter
        options.lockWait = execution.lockWait.flatMap(DurationSyntax.parse)
        options.recorded = RecordedInput.encode(vars: input.vars, limit: input.limit)
        options.recorded["plan_fingerprint"] = plan.fingerprint
        if kind == .run, let (rehearsal, events) = try? store.lastRehearsal(playbookFile: playbook) {
            let batches = Planner.batches(play.hosts.map(\.name), serial: play.playbook.serial).count
            options.prediction = Prediction.from(rehearsal: events, batches: batches)
            if options.prediction == nil && !input.json {
                Terminal.error("note: the rehearsal \(rehearsal.id) did not finish a batch; no prediction")
            }
        }
        if kind == .run && play.playbook.window == nil && !input.json {
            Terminal.error(Terminal.yellow("warning: the playbook declares no window; the run is not time-boxed"))
        }
        var sshOptions = SSHTransport.Options()
        sshOptions.acceptNewHostKeys = execution.acceptNewHostKeys
        let transport = SSHTransport(inventory: play.inventory, options: sshOptions)
        defer { transport.shutdown() }
        // GOLIVE_BENCH_JOURNAL=memory: benchmarks only, to measure what durable journaling costs.
        let journal: any Journal =
            ProcessInfo.processInfo.environment["GOLIVE_BENCH_JOURNAL"] == "memory"
            ? MemoryJournal() : KillingJournal.wrap(try store.journal(runID: runID))
        let printer = ProgressPrinter(json: input.json, live: Terminal.canRedraw)
        let gates: (any GateAnswerer)? = Terminal.stdinIsTTY && !input.json ? TerminalGate() : nil
        if gates == nil && !execution.yes && (play.playbook.backup + play.playbook.deploy).contains(where: { if case .gate = $0.action { true } else { false } }) && kind != .check {
            Terminal.error(Terminal.yellow("note: no terminal and no --yes: every gate will be answered no (safe default)"))
        }
        let executor = Executor(
            play: play, transport: transport, journal: journal, observer: printer, lock: store.lock, gates: gates,
            options: options)
        let signals = SignalWatcher { count in
            if count == 1 {
                Terminal.error(Terminal.yellow("\ninterrupted: stopping and rolling back every changed host (Ctrl-C again to abandon the rollback)"))
                Task { await executor.abort(.interrupted, detail: "interrupted by the operator") }
            } else if count == 2 {
                Terminal.error(Terminal.red("rollback in progress: press Ctrl-C once more within 5 s to abandon it (hosts may be left half-changed; exit 4)"))
            } else {
                Terminal.error(Terminal.red("rollback abandoned by the operator: run `golive resume \(runID) --rollback` to finish it"))
                exit(ExitStatus.needsAttention.rawValue)
            }
        }
        let outcome = await executor.run()
        signals.stop()
        if !input.json { printSummary(outcome, runID: runID, storePath: storePath) }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    /// Says why a run with `--expect-plan` does not start: what changed since the signed-off plan.
    static func refuseChangedPlan(expected: String, current: ResolvedPlan, store: TimelineStore) {
        var text = "error: the plan changed since \(expected) was signed off (it is now \(current.fingerprint)); nothing was touched"
        if let signed = try? store.plan(fingerprint: expected) {
            let changes = current.changes(from: signed)
            text += "\nwhat changed:\n" + changes.prefix(40).map { "  - " + $0 }.joined(separator: "\n")
            if changes.count > 40 { text += "\n  ... and \(changes.count - 40) more" }
        } else {
            text += "\nplan \(expected) is not recorded in \(store.path) (plans are recorded by `golive plan`), so what changed cannot be shown"
        }
        Terminal.error(text + "\nreview the new plan (`golive plan ... --format md`) and sign it off again, or run without --expect-plan")
    }

    static func printSummary(_ outcome: RunOutcome, runID: String, storePath: String) {
        var text = "\n" + Terminal.bold("Summary of run \(runID): ")
        switch outcome.exitCode {
        case 0: text += Terminal.green(outcome.status)
        case 1, 130: text += Terminal.yellow(outcome.status)
        default: text += Terminal.red(outcome.status)
        }
        if let reason = outcome.reason { text += " — \(reason)" }
        text += "\n"
        for host in outcome.hosts {
            let state: String
            switch host.state {
            case "changed", "unchanged": state = Terminal.green(host.state)
            case "rolled-back": state = Terminal.yellow(host.state)
            default: state = Terminal.red(host.state)
            }
            text += "  \(host.host): \(state) (\(host.detail))\n"
        }
        if !outcome.attention.isEmpty {
            text += Terminal.red("A person must act:") + "\n"
            for item in outcome.attention { text += "  - \(item)\n" }
        }
        text += "timeline: golive timeline \(runID) --store \(storePath)\n"
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// Counts SIGINT/SIGTERM and tells the run; the default handlers are replaced while it lives.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private var count = 0
    private var last = Date.distantPast
    private let lock = NSLock()

    init(_ handler: @escaping @Sendable (Int) -> Void) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                // A third press counts only when it follows the warning within 5 s.
                if self.count == 2 && Date().timeIntervalSince(self.last) > 5 { self.count = 1 }
                self.count += 1
                self.last = Date()
                let count = self.count
                self.lock.unlock()
                handler(count)
            }
            source.resume()
            sources.append(source)
        }
    }

    func stop() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Asks gates on the terminal: what was done, what comes next, yes or no.
struct TerminalGate: GateAnswerer {
    func answer(_ prompt: String, done: [String], next: [String]) async -> Bool {
        var text = "\n" + Terminal.bold(Terminal.yellow("GATE: \(prompt)")) + "\n"
        if !done.isEmpty { text += "  done so far: \(done.joined(separator: ", "))\n" }
        if !next.isEmpty { text += "  next: \(next.joined(separator: ", "))\n" }
        text += "Go on? [yes/no] "
        FileHandle.standardOutput.write(Data(text.utf8))
        for _ in 0..<5 {
            guard let line = readLine() else { return false }
            switch line.trimmingCharacters(in: .whitespaces).lowercased() {
            case "yes", "y": return true
            case "no", "n": return false
            default: FileHandle.standardOutput.write(Data("please answer yes or no: ".utf8))
            }
        }
        return false
    }
}
