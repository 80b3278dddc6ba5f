import ArgumentParser
import Console
import Dispatch
import Engine
import Foundation
import Playbook
import SSHTransport
import Store
import System

/// Runs a playbook as `run`, `rehearse` or `check`, and recovers a run (`resume`, `rollback`):
/// loads and validates, opens the store, builds the ``RunSession`` (SSH, the store, the console,
/// the gates), handles the signals, and maps the outcome to the exit code. Every command that
/// drives hosts through a run goes through ``drive(_:runID:storePath:json:_:)``.
enum RunDriver {
    static func execute(
        kind: RunOptions.Kind, playbook: String, input: InputOptions, execution: ExecutionOptions, rollbackAfter: Bool = false
    ) async throws {
        if execution.session.noColor { Terminal.colorDisabled = true }
        guard let play = try InputLoader.load(playbook: playbook, options: input, requireSecrets: true) else {
            throw ExitStatus.invalidInput.exitCode
        }
        let store = try await openStore(try execution.storeURL(besidePlaybook: playbook), retry: execution.session.storeRetryDuration)
        try await requireWritable(store)
        let plan = ResolvedPlan(play)
        if let expected = execution.expectPlan, expected != plan.fingerprint {
            await refuseChangedPlan(expected: expected, current: plan, store: store)
            throw ExitStatus.refused.exitCode
        }
        let runID = StoreLocation.newRunID()
        var options = RunOptions(
            kind: kind, runID: runID, operatorName: StoreLocation.operatorName,
            playbookDirectory: URL(fileURLWithPath: playbook).deletingLastPathComponent().path)
        execution.session.apply(to: &options)
        options.storeIdentity = await store.identity()
        options.operatorVerified = options.storeIdentity != nil || StoreLocation.operatorName == StoreLocation.osUser
        options.noRollback = execution.noRollback
        options.ignoreWindowReason = execution.ignoreWindow ? execution.reason : nil
        options.waitForWindow = execution.waitForWindow
        options.rollbackAfter = rollbackAfter
        options.recorded = RecordedInput.encode(vars: input.vars, limit: input.limit)
        options.recorded["plan_fingerprint"] = plan.fingerprint
        // The plan the run starts with, so that a recovery with changed files can say what changed.
        try? await store.record(plan: plan, playbookFile: playbook, environment: play.inventory.environment)
        if kind == .run, let (rehearsal, events) = (try? await store.lastRehearsal(playbookFile: playbook)) ?? nil {
            let batches = Planner.schedule(play).count
            options.prediction = Prediction.from(rehearsal: events, batches: batches)
            if options.prediction == nil && !input.json {
                Terminal.error("note: the rehearsal \(rehearsal.id) did not finish a batch; no prediction")
            }
        }
        if kind == .run && play.playbook.window == nil && !input.json {
            Terminal.error(Terminal.yellow("warning: the playbook declares no window; the run is not time-boxed"))
        }
        let gated = play.playbook.plays.flatMap { $0.backup + $0.deploy }.contains { if case .gate = $0.action { true } else { false } }
        if !canAskGates(json: input.json) && !execution.session.yes && gated && kind != .check {
            Terminal.error(
                Terminal.yellow("note: no terminal and no --yes: each gate waits for `golive answer \(runID) yes|no` from a terminal that reaches the store (or its timeout)"))
        }
        let transport = SSHTransport(inventory: play.inventory, options: execution.session.transportOptions)
        defer { transport.shutdown() }
        let session = makeSession(store: store, transport: transport, json: input.json)
        let runOptions = options
        try await drive(session, runID: runID, storePath: store.location, json: input.json) { session in
            await session.run(play, options: runOptions)
        }
    }

    /// Recovers run `id` from the store: `resume` (forward) or a rollback (`resume --rollback`, `rollback`);
    /// `onlyDied` refuses a run that ended clean (succeeded, or rolled back): `resume` is for a run left changed.
    static func recover(
        _ id: String, mode: Executor.Recovery, onlyDied: Bool = false, storeOptions: StoreOptions, session sessionOptions: SessionOptions,
        force: Bool, json: Bool, files: RecoveryFiles
    ) async throws {
        if sessionOptions.noColor { Terminal.colorDisabled = true }
        let store = try await storeOptions.open(retry: sessionOptions.storeRetryDuration)
        try await requireWritable(store)
        let record = try await storeOptions.run(store, id)
        // `resume --rollback` finishes a run left changed (its controller died, a resume refused,
        // a rollback abandoned); one that ended clean is undone on purpose with `golive rollback`.
        if mode == .resume && record.status != "running" || onlyDied && ["succeeded", "rolled-back"].contains(record.status) {
            Terminal.error(
                "error: run \(record.id) has ended (\(record.status)); only a run whose controller died can be resumed (use `golive rollback \(record.id)` to undo a finished run)"
            )
            throw ExitStatus.invalidInput.exitCode
        }
        let details = try await store.events(runID: record.id).first { $0.kind == .runStarted }?.runStarted
        var input = try InputOptions.parse([])
        input.inventory = files.inventory.isEmpty ? details?.inventoryList ?? [record.inventoryFile] : files.inventory
        let playbookFile = files.playbook ?? record.playbookFile
        // From another machine, the recorded paths may be someone else's checkout.
        for (path, option) in [(playbookFile, "--playbook FILE")] + input.inventory.map({ ($0, "-i INVENTORY") })
        where !FileManager.default.fileExists(atPath: path) {
            Terminal.error(
                "error: run \(record.id)'s \(option == "--playbook FILE" ? "playbook" : "inventory") \(path) is not on this machine: "
                    + "give this machine's copy with \(option) (it must resolve to the run's plan); nothing was touched")
            throw ExitStatus.invalidInput.exitCode
        }
        input.environment = details?.environment
        input.vars = details?.varList ?? []
        input.limit = details?.limit
        input.json = json
        guard let play = try InputLoader.load(playbook: playbookFile, options: input, requireSecrets: true) else {
            throw ExitStatus.invalidInput.exitCode
        }
        var options = RunOptions(
            kind: RunOptions.Kind(rawValue: record.kind) ?? .run, runID: record.id, operatorName: StoreLocation.operatorName,
            playbookDirectory: URL(fileURLWithPath: playbookFile).deletingLastPathComponent().path)
        sessionOptions.apply(to: &options)
        options.storeIdentity = await store.identity()
        options.operatorVerified = options.storeIdentity != nil || StoreLocation.operatorName == StoreLocation.osUser
        let transport = SSHTransport(inventory: play.inventory, options: sessionOptions.transportOptions)
        defer { transport.shutdown() }
        let session = makeSession(store: store, transport: transport, json: json)
        let runOptions = options
        try await drive(session, runID: record.id, storePath: store.location, json: json) { session in
            do {
                return try await session.recover(play, mode, options: runOptions, force: force)
            } catch {
                return RunOutcome(result: .failed, reason: "cannot read run \(record.id) from \(store.location): \(error)")
            }
        }
    }

    /// Opens the store, or refuses (exit 3) saying why: a store another golive holds locked (a live
    /// controller, stopped perhaps, mid-write) is never waited on for ever nor reported as a crash;
    /// a server that cannot be reached or refuses the login says so.
    static func openStore(_ url: StoreURL, retry: Duration = .seconds(60)) async throws -> any RunStore {
        do {
            let store = try await url.open(retry: retry) { Terminal.error($0) }
            if let team = store as? PostgresStore {
                if await team.writeRefusal() == nil {
                    await replaySpills(into: team)
                } else if team.spillsWaiting > 0 {
                    Terminal.error("note: \(team.spillsWaiting) spill journal(s) on this machine wait for a command with an operator's role to replay them")
                }
            }
            return store
        } catch {
            let busy = "\(error)".contains("database is locked")
                ? "; another golive process is writing to it (a live controller, perhaps stopped): nothing was done" : ""
            Terminal.error("error: cannot open the timeline store \(url): \(error)\(busy)")
            throw ExitStatus.refused.exitCode
        }
    }

    /// Refuses (exit 3) a command that writes when the store's login may only read, before it touches anything.
    static func requireWritable(_ store: any RunStore) async throws {
        guard let refusal = await store.writeRefusal() else { return }
        Terminal.error("error: \(refusal); nothing was done")
        throw ExitStatus.refused.exitCode
    }

    /// The identity gate answers and unlocks record: the store's login when it authenticates one
    /// (PostgreSQL's `session_user`), with the operator's own name when that differs.
    static func recordedIdentity(_ store: any RunStore) async -> String {
        let name = StoreLocation.operatorName
        guard let login = await store.identity() else { return name }
        return login == name ? login : "\(login) (operator \(name))"
    }

    /// Replays this machine's spill journals written for `store` (runs that could not reach it),
    /// saying what became of each; one that cannot be replayed is kept for the next command.
    /// - Returns: how many could not be replayed.
    @discardableResult
    static func replaySpills(into store: PostgresStore) async -> Int {
        var failed = 0
        for (path, result) in await store.replaySpills() {
            switch result {
            case .success(let replay): Terminal.error("note: \(replay) (from \(path))")
            case .failure(let error):
                failed += 1
                Terminal.error(Terminal.yellow("warning: the spill \(path) could not be replayed yet (\(error)); it is kept, and tried again by the next command"))
            }
        }
        return failed
    }

    static func canAskGates(json: Bool) -> Bool { Terminal.stdinIsTTY && !json }

    static func makeSession(store: any RunStore, transport: any Transport, json: Bool) -> RunSession {
        // GOLIVE_BENCH_JOURNAL=memory: benchmarks only, to measure what durable journaling costs.
        let runStore: any RunStore =
            ProcessInfo.processInfo.environment["GOLIVE_BENCH_JOURNAL"] == "memory"
            ? MemoryStore() : KillingStore.wrap(store)
        return RunSession(
            store: runStore, transport: transport, observer: ProgressPrinter(json: json, live: Terminal.canRedraw),
            gates: canAskGates(json: json) ? TerminalGate() : nil)
    }

    /// Runs `body` with Ctrl-C/SIGTERM stopping it in order, prints the summary and exits with the outcome's code.
    static func drive(
        _ session: RunSession, runID: String, storePath: String, json: Bool,
        _ body: @Sendable (RunSession) async -> RunOutcome
    ) async throws {
        let signals = SignalWatcher { count in
            if count == 1 {
                Terminal.error(
                    Terminal.yellow("\ninterrupted: stopping and rolling back every changed host (Ctrl-C again to abandon the rollback)"))
                Task { await session.abort(.interrupted, detail: "interrupted by the operator") }
            } else if count == 2 {
                Terminal.error(
                    Terminal.red(
                        "rollback in progress: press Ctrl-C once more within 5 s to abandon it (hosts may be left half-changed; exit 4)"))
            } else {
                Terminal.error(Terminal.red("rollback abandoned by the operator: run `golive resume \(runID) --rollback` to finish it"))
                Golive.end(ExitStatus.needsAttention.rawValue)
            }
        }
        let outcome = await body(session)
        signals.stop()
        if !json { printSummary(outcome, runID: runID, storePath: storePath) }
        let status = ExitStatus(outcome)
        if status != .success { throw status.exitCode }
    }

    /// Says why a run with `--expect-plan` does not start: what changed since the signed-off plan.
    static func refuseChangedPlan(expected: String, current: ResolvedPlan, store: any RunStore) async {
        var text = "error: the plan changed since \(expected) was signed off (it is now \(current.fingerprint)); nothing was touched"
        if let signed = (try? await store.plan(fingerprint: expected)) ?? nil {
            let changes = current.changes(from: signed)
            text += "\nwhat changed:\n" + changes.prefix(40).map { "  - " + $0 }.joined(separator: "\n")
            if changes.count > 40 { text += "\n  ... and \(changes.count - 40) more" }
        } else {
            text +=
                "\nplan \(expected) is not recorded in \(store.location) (plans are recorded by `golive plan`), so what changed cannot be shown"
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
        if let reason = outcome.reason { text += " — \(TerminalText.visible(reason))" }
        text += "\n"
        for host in outcome.hosts {
            let state: String
            switch host.state {
            case .changed, .unchanged, .pending: state = Terminal.green(host.state.rawValue)
            case .rolledBack: state = Terminal.yellow(host.state.rawValue)
            default: state = Terminal.red(host.state.rawValue)
            }
            text += "  \(host.host): \(state) (\(TerminalText.visible(host.detail)))\n"
        }
        if !outcome.attention.isEmpty {
            text += Terminal.red("A person must act:") + "\n"
            for item in outcome.attention { text += "  - \(TerminalText.visible(item))\n" }
        }
        text += "timeline: golive timeline \(runID) --store \(ShellQuote.quote(storePath))\n"
        Terminal.out(Data(text.utf8))
    }
}

/// Counts SIGINT/SIGTERM/SIGHUP and tells the run; the default handlers are replaced while it lives.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private var count = 0
    private var last = Date.distantPast
    private let lock = NSLock()

    init(_ handler: @escaping @Sendable (Int) -> Void) {
        // A lost terminal (SIGHUP) stops the run in order like Ctrl-C; a closed pipe is not fatal.
        signal(SIGPIPE, SIG_IGN)
        for number in [SIGINT, SIGTERM, SIGHUP] {
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
        signal(SIGHUP, SIG_DFL)
    }
}

/// Asks gates on the terminal: what was done, what comes next, yes or no. Lines are read by one
/// reader for the whole run, so a gate answered elsewhere first leaves nothing blocked on the
/// terminal, and a line typed before a gate is asked never answers it.
struct TerminalGate: GateAnswerer {
    let lines = TerminalLines()

    func answer(_ prompt: String, done: [String], next: [String]) async -> Bool? {
        var text = "\n" + Terminal.bold(Terminal.yellow("GATE: \(prompt)")) + "\n"
        if !done.isEmpty { text += "  done so far: \(done.joined(separator: ", "))\n" }
        if !next.isEmpty { text += "  next: \(next.joined(separator: ", "))\n" }
        text += "Go on? [yes/no] "
        Terminal.out(Data(text.utf8))
        lines.discardTyped()
        for _ in 0..<5 {
            guard let line = await lines.next() else { return nil }
            switch line.trimmingCharacters(in: .whitespaces).lowercased() {
            case "yes", "y": return true
            case "no", "n": return false
            default: Terminal.out(Data("please answer yes or no: ".utf8))
            }
        }
        return false
    }
}
