import Foundation
import Playbook

/// Runs one go-live: lock, window, connect, pre-checks, then per batch backups, deploy steps and the
/// health watch; on any failure, rolls back every host that changed.
///
/// Every transition is appended to the journal, and confirmed, before the action it announces. The
/// run's state is ``state``, the fold of those events (``RunState/apply(_:)``): the executor keeps
/// nothing else about the run but its live resources (connections) and its control flow (an abort
/// in progress). Hosts of a batch run in parallel, bounded by `forks`.
public actor Executor {
    let play: ValidatedPlay
    let transport: any Transport
    let journal: any Journal
    let observer: (any RunObserver)?
    let lock: (any EnvironmentLock)?
    let gates: (any GateAnswerer)?
    let options: RunOptions
    /// Redacts every secret, its derived forms and every value derived from one that a command used.
    var redactor: Redactor
    let started = Date()
    /// Steps of the playbook by id.
    let stepsByID: [String: Step]

    /// The run's state: every event this executor appended (and, for a recovery, the journal's), folded.
    public internal(set) var state: RunState
    /// The sequence number the next event gets.
    var nextSequence: Int64
    /// Called with each event (unredacted) and the state after it.
    let stateObserver: (@Sendable (RunEvent, RunState) -> Void)?

    var connections: [String: any HostConnection] = [:]
    /// The health watch's working memory: where each log was read up to. Not run state: a
    /// recovery starts the watch afresh.
    var signals: [String: SignalState] = [:]
    var abortReason: AbortReason?
    var abortDetail: String?
    /// Cancels the batch work in flight (set while a batch segment runs).
    var cancelWork: (@Sendable () -> Void)?
    var journalBroken = false
    /// The environment lock's fencing token while this run holds it (the hosts' lock directories
    /// carry it too; every remote command checks it first).
    var token: String?
    /// Another controller took the run over, or its lock was released by force: act no more.
    var fenced = false
    /// Hosts waiting for a `run_once` step's result, by step id.
    var runOnceWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// The first host stopped at a failure: its later `run_once` steps will not run.
    var firstHostStopped = false

    /// Creates an executor for one run.
    ///
    /// - Parameters:
    ///   - history: the run's events so far, for a recovery (empty for a new run); the state starts as their fold.
    ///   - stateObserver: called after each event with the state it led to (tests compare it with the journal).
    public init(
        play: ValidatedPlay, transport: any Transport, journal: any Journal, observer: (any RunObserver)? = nil,
        lock: (any EnvironmentLock)? = nil, gates: (any GateAnswerer)? = nil, options: RunOptions,
        history: [RunEvent] = [], stateObserver: (@Sendable (RunEvent, RunState) -> Void)? = nil
    ) {
        self.play = play
        self.transport = transport
        self.journal = journal
        self.observer = observer
        self.lock = lock
        self.gates = gates
        self.options = options
        self.stateObserver = stateObserver
        redactor = Redactor(secrets: play.inventory.secrets.values.compactMap { $0.value?.revealForUse() })
        stepsByID = Dictionary(play.playbook.allSteps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let replayed = RunState.replay(history, runID: options.runID)
        state = replayed
        nextSequence = replayed.lastSequence + 1
    }

    var environment: String { play.inventory.environment }
    var runInfo: [String: Value] {
        [
            "id": .string(options.runID), "kind": .string(options.kind.rawValue),
            "started": .string(ISO8601DateFormatter().string(from: state.started ?? started)), "environment": .string(environment),
            "operator": .string(options.operatorName),
        ]
    }

    /// Stops the run at the next safe point and rolls back (SIGINT/SIGTERM, the window's rollback point).
    /// Steps in flight are stopped; they count as done for rollback.
    public func abort(_ reason: AbortReason, detail: String? = nil) {
        if reason == .fenced && !fenced {
            fenced = true
            // Not on the timeline (it is another controller's now): on the console only.
            observer?.observe(
                RunEvent(
                    runID: options.runID, kind: .attentionRequired, status: "fenced",
                    message: "this controller lost the run (\(detail ?? "taken over")): it stops here and changes nothing more"))
        }
        guard abortReason == nil || reason == .fenced else { return }
        abortReason = reason
        abortDetail = detail
        cancelWork?()
        wakeRunOnceWaiters()
    }

    // MARK: events

    /// Folds an event into the state, appends it (redacted) durably, then shows it. A journal
    /// failure aborts the run: it must not go on unrecorded.
    ///
    /// The event gets the next sequence number here, so the state folds events in the journal's order.
    @discardableResult
    func emit(_ event: RunEvent) async -> Bool {
        // A fenced controller records nothing more (the journal is another controller's).
        if fenced {
            observer?.observe(redactor.redact(event))
            return false
        }
        var event = event
        event.runID = options.runID
        event.sequence = nextSequence
        nextSequence += 1
        state.apply(event)
        stateObserver?(event, state)
        let stored = redactor.redact(event)
        if !journalBroken {
            do {
                try await journal.append(stored)
            } catch let error as FencedOut {
                journalBroken = true
                abort(.fenced, detail: error.description)
                return false
            } catch {
                journalBroken = true
                observer?.observe(
                    RunEvent(
                        runID: options.runID, kind: .attentionRequired,
                        message: "the timeline cannot be written (\(error)); stopping and rolling back"))
                abort(.journalFailed, detail: "\(error)")
                observer?.observe(stored)
                return false
            }
        }
        observer?.observe(stored)
        if event.kind == .stepFinished || event.kind == .stepSkipped, let step = event.step, state.runOnce[step] != nil {
            wakeRunOnceWaiters(step)
        }
        return !journalBroken
    }

    func event(
        _ kind: RunEvent.Kind, phase: RunEvent.Phase? = nil, batch: Int? = nil, host: String? = nil, step: Step? = nil,
        status: String? = nil, message: String? = nil, details: [String: String]? = nil
    ) -> RunEvent {
        RunEvent(
            runID: options.runID, kind: kind, phase: phase, batch: batch, host: host, step: step?.id, stepName: step?.name,
            status: status, message: message, details: details)
    }

    // MARK: the run

    /// The run's details as `runStarted` records them.
    func startedDetails(batches: [[String]]) -> RunStartedDetails {
        let playbook = play.playbook
        var info = RunStartedDetails(
            playbook: playbook.name, playbookFile: URL(fileURLWithPath: playbook.file).standardizedFileURL.path,
            inventoryFile: URL(fileURLWithPath: play.inventory.file).standardizedFileURL.path, environment: environment,
            kind: options.kind.rawValue, operatorName: options.operatorName, hosts: play.hosts.map(\.name), batches: batches,
            controller: ProcessInfo.processInfo.hostName, pid: ProcessInfo.processInfo.processIdentifier,
            stepsPerHost: playbook.backup.count + playbook.deploy.count)
        info.vars = options.recorded["vars"]
        info.limit = options.recorded["limit"]
        info.planFingerprint = options.recorded["plan_fingerprint"]
        if let window = playbook.window {
            let formatter = ISO8601DateFormatter()
            info.windowStart = formatter.string(from: window.start)
            info.windowEnd = formatter.string(from: window.end)
            info.rollbackPoint = formatter.string(from: effectiveRollbackPoint(window))
        }
        return info
    }

    /// Runs the go-live to its end and returns the outcome (exit code and report).
    public func run() async -> RunOutcome {
        let playbook = play.playbook
        let batches = Planner.batches(play.hosts.map(\.name), serial: playbook.serial)
        guard
            await emit(
                event(
                    .runStarted, message: "\(options.kind.rawValue) of \(playbook.name) on \(environment)",
                    details: RunEvent.details(startedDetails(batches: batches))))
        else {
            return await finish(.failed, reason: "the timeline cannot be written")
        }
        let lease: Task<Void, Never>?
        switch await takeEnvironmentLock(reason: playbook.name) {
        case .failure(let refusal):
            await emit(
                event(
                    .runFinished, status: RunResult.refused.rawValue, message: refusal.description,
                    details: RunEvent.details(RunFinishedDetails(exitCode: 3))))
            return RunOutcome(result: .refused, reason: refusal.description)
        case .success(let task):
            lease = task
        }
        let outcome = await runLocked(batches: batches)
        lease?.cancel()
        await lease?.value
        return await close(outcome)
    }

    /// Takes the environment lock (waiting up to `--lock-wait`), or takes it over from the holder
    /// whose token is `replacing` (a recovery), and starts refreshing its lease.
    ///
    /// - Returns: the lease task, or the refusal.
    func takeEnvironmentLock(reason: String, replacing: String? = nil, announce: Bool = true) async
        -> Result<Task<Void, Never>?, RefusalMessage>
    {
        guard let lock else {
            // No store lock (an in-memory run): the hosts' locks still keep other controllers off,
            // with a token of this run's own.
            token = token ?? StoreTokens.random()
            return .success(nil)
        }
        let deadline = ContinuousClock.now.advanced(by: options.lockWait ?? .zero)
        let request = LockRequest(
            environment: environment, runID: options.runID, operatorName: options.operatorName, reason: reason,
            lease: options.lease, replacing: replacing)
        var announced = false
        while true {
            do {
                let token = try await lock.acquire(request)
                self.token = token
                await journal.adopt(fence: token)
                if announce { await emit(event(.lockTaken, message: "environment \(environment) locked by \(options.operatorName)")) }
                break
            } catch let held as LockHeld where ContinuousClock.now < deadline && abortReason == nil && replacing == nil {
                if !announced {
                    announced = true
                    await emit(event(.lockTaken, status: "waiting", message: "waiting for the lock: \(held)"))
                }
                try? await Task.sleep(for: .seconds(1))
            } catch {
                return .failure(RefusalMessage("\(error)"))
            }
        }
        // The lease shows the lock's holder is alive; a lock whose lease stops moving is shown as
        // stale. A refresh that finds the lock no longer ours fences this controller.
        let (environment, interval) = (environment, options.lease / 4)
        guard let token else { return .success(nil) }
        return .success(
            Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    if (try? await lock.refresh(environment: environment, token: token)) == false {
                        await self?.abort(.fenced, detail: "the environment lock was taken over or released by force")
                        break
                    }
                }
            })
    }

    /// Releases the host and store locks, closes the connections and records the end of the run.
    /// The outcome is redacted: its words reach the console.
    func close(_ outcome: RunOutcome) async -> RunOutcome {
        let outcome = redactor.redact(outcome)
        if fenced {
            // The locks are another controller's now: leave them, and record nothing.
            await closeConnections()
            return outcome
        }
        await releaseHostLocks()
        await closeConnections()
        if let lock, let token {
            try? await lock.release(environment: environment, token: token)
            await emit(event(.lockReleased, message: "environment \(environment) unlocked"))
        }
        await emit(
            event(
                .runFinished, status: outcome.result.rawValue, message: outcome.reason,
                details: RunEvent.details(
                    RunFinishedDetails(
                        exitCode: Int(outcome.exitCode), durationMS: Int(Date().timeIntervalSince(started) * 1000)))))
        return outcome
    }

    private func runLocked(batches: [[String]]) async -> RunOutcome {
        if options.kind == .run || options.kind == .rehearse, let refusal = await checkWindow() {
            return RunOutcome(result: .refused, reason: refusal)
        }
        if let refusal = await connectAndLock() { return refusal }
        if let refusal = await runPrechecks(play.hosts.map(\.name)) { return refusal }
        if options.kind == .check {
            return RunOutcome(
                result: .succeeded,
                hosts: play.hosts.map { HostReport(host: $0.name, state: .unchanged, detail: "pre-checks passed") })
        }
        let watcher = startWindowWatch()
        defer { watcher?.cancel() }
        for (index, batch) in batches.enumerated() where abortReason == nil {
            await runBatch(batch, number: index + 1)
        }
        watcher?.cancel()
        if let reason = abortReason {
            return await rollbackAndReport(reason: reason)
        }
        if options.rollbackAfter {
            await emit(
                event(
                    .rollbackStarted, phase: .rollback, status: AbortReason.requested.rawValue,
                    message: "rehearsal: rolling back on purpose"))
            let clean = await rollbackHosts(state.changedHosts)
            return await finish(
                clean ? .rolledBack : .needsAttention, rollbackRequested: true, reason: "rehearsal rolled back on purpose")
        }
        return await finish(.succeeded, reason: nil)
    }

    /// Connects to every host and takes the lock on each; an unreachable or locked host refuses
    /// the run before any change.
    func connectAndLock() async -> RunOutcome? {
        await emit(event(.phaseStarted, phase: .connect))
        let unreachable = await connectAll(play.hosts)
        await emit(event(.phaseFinished, phase: .connect, status: unreachable.isEmpty ? "ok" : "failed"))
        if !unreachable.isEmpty {
            let reason = "unreachable: " + unreachable.map { "\($0.key) (\($0.value))" }.sorted().joined(separator: "; ")
            return RunOutcome(
                result: .refused,
                hosts: unreachable.map { HostReport(host: $0.key, state: .unreachable, detail: $0.value) }, reason: reason)
        }
        guard options.kind != .check else { return nil }
        let deadline = ContinuousClock.now.advanced(by: options.lockWait ?? .zero)
        while let refusal = await takeHostLocks(play.hosts.map(\.name)) {
            guard ContinuousClock.now < deadline, abortReason == nil else {
                return RunOutcome(result: .refused, reason: refusal)
            }
            try? await Task.sleep(for: .seconds(1))
        }
        return nil
    }

    /// Pre-checks on `hosts` in parallel: any failure refuses the run. Then the baselines of the
    /// log and metric probes, whose absolute thresholds must already hold.
    func runPrechecks(_ hosts: [String]) async -> RunOutcome? {
        let playbook = play.playbook
        let baselines = playbook.health.map { !signalProbes($0).isEmpty } ?? false
        guard !playbook.prechecks.isEmpty || baselines, !hosts.isEmpty else { return nil }
        await emit(event(.phaseStarted, phase: .precheck))
        let failures = await forEachHost(hosts) { executor, host in
            await executor.runSteps(playbook.prechecks, on: host, phase: .precheck, batch: nil)?.message
        }
        var failed = failures.compactMapValues { $0 }
        if failed.isEmpty, baselines, let health = playbook.health {
            for (host, failure) in await measureBaselines(health, hosts: hosts) { failed[host] = failure }
        }
        await emit(event(.phaseFinished, phase: .precheck, status: failed.isEmpty ? "ok" : "failed"))
        guard !failed.isEmpty else { return nil }
        let reason = "pre-checks failed on " + failed.keys.sorted().map { "\($0) (\(failed[$0] ?? ""))" }.joined(separator: "; ")
        return RunOutcome(
            result: .refused,
            hosts: failed.keys.sorted().map { HostReport(host: $0, state: .unchanged, detail: "pre-check failed: \(failed[$0] ?? "")") },
            reason: reason)
    }

    /// Refuses a run outside its window (or waits, or records the override). Returns the refusal.
    private func checkWindow() async -> String? {
        guard let window = play.playbook.window else {
            await emit(event(.windowChecked, status: "none", message: "no window declared"))
            return nil
        }
        let formatter = ISO8601DateFormatter()
        if options.kind == .rehearse {
            await emit(event(.windowChecked, status: "not-enforced", message: "rehearsal: window recorded, not enforced"))
            return nil
        }
        if let reason = options.ignoreWindowReason {
            await emit(event(.windowOverride, status: "ignored", message: reason))
            return nil
        }
        var now = Date()
        if now < window.start {
            if options.waitForWindow {
                await emit(
                    event(
                        .windowChecked, status: "waiting",
                        message: "waiting for the window to open at \(formatter.string(from: window.start))"))
                try? await Task.sleep(for: .seconds(window.start.timeIntervalSince(now)))
                if Task.isCancelled || abortReason != nil { return "interrupted while waiting for the window" }
                now = Date()
            } else {
                let message =
                    "outside the window: it opens at \(formatter.string(from: window.start)) (in \(Int(window.start.timeIntervalSince(now)))s); use --wait-for-window to wait"
                await emit(event(.windowChecked, status: "refused", message: message))
                return message
            }
        }
        if now >= effectiveRollbackPoint(window) {
            let message =
                "past the window's rollback point (\(formatter.string(from: effectiveRollbackPoint(window)))): too late to start"
            await emit(event(.windowChecked, status: "refused", message: message))
            return message
        }
        if let prediction = options.prediction {
            let fit = prediction.fit(window, startingAt: now)
            let message =
                "the rehearsal \(prediction.rehearsalID) (\(formatter.string(from: prediction.rehearsed))) predicts \(Int(prediction.run.rounded()))s"
                + (prediction.rollback.map { " and \(Int($0.rounded()))s to roll back" } ?? "")
                + "; rollback point \(formatter.string(from: fit.rollbackPoint)); margin \(Int(fit.margin.rounded()))s"
            await emit(event(.prediction, status: fit.fits ? "fits" : "does-not-fit", message: message))
            if !fit.fits {
                let refusal = "the run cannot fit the window: \(message) (use --ignore-window --reason to go anyway)"
                await emit(event(.windowChecked, status: "refused", message: refusal))
                return refusal
            }
        }
        await emit(
            event(
                .windowChecked, status: "ok",
                message: "inside the window; rollback point in \(Int(effectiveRollbackPoint(window).timeIntervalSince(now)))s"))
        return nil
    }

    /// A task that aborts the run when the window's rollback point is reached.
    func startWindowWatch() -> Task<Void, Never>? {
        guard options.kind == .run, options.ignoreWindowReason == nil, let window = play.playbook.window else { return nil }
        let point = effectiveRollbackPoint(window)
        return Task { [weak self] in
            let wait = point.timeIntervalSinceNow
            if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
            guard !Task.isCancelled else { return }
            await self?.abort(.rollbackPoint, detail: "the window's rollback point was reached")
        }
    }

    /// `end - max(rollback_reserve, the rehearsed rollback time)`.
    func effectiveRollbackPoint(_ window: Window) -> Date {
        options.prediction?.fit(window, startingAt: Date()).rollbackPoint ?? window.rollbackPoint
    }

    // MARK: batches

    func runBatch(_ batch: [String], number: Int) async {
        let playbook = play.playbook
        await emit(event(.batchStarted, batch: number, message: batch.joined(separator: ", ")))
        var active = batch
        let allowed = playbook.maxFail.allowed(inBatchOf: batch.count)
        var failedInBatch: [String: String] = [:]
        // Segments of steps: the backups first, every host's, as a barrier (a failed backup stops
        // the batch before anything changes), then the deploy steps, split at gates.
        var segments: [[Step]] = playbook.backup.isEmpty ? [[]] : [playbook.backup, []]
        var gates: [Step?] = playbook.backup.isEmpty ? [] : [nil]
        for step in playbook.deploy {
            if case .gate = step.action {
                segments.append([])
                gates.append(step)
            } else {
                segments[segments.count - 1].append(step)
            }
        }
        for (index, segment) in segments.enumerated() {
            if index > 0, let gate = gates[index - 1] {
                guard abortReason == nil else { break }
                if !(await askGate(gate, batch: number, hosts: active)) {
                    abort(.gateRefused, detail: "gate '\(gate.name)' answered no")
                    break
                }
            }
            guard abortReason == nil, !segment.isEmpty else { continue }
            let failures = await runCancellable(active) { executor, host in
                await executor.runSteps(segment, on: host, phase: nil, batch: number)
            }
            for (host, failure) in failures { if let failure { failedInBatch[host] = failure.description } }
            active.removeAll { failedInBatch[$0] != nil }
            if failedInBatch.count > allowed {
                abort(
                    failedInBatch.count == 1 ? .stepFailed : .maxFailExceeded,
                    detail: "\(failedInBatch.count) host(s) failed in batch \(number) (max_fail \(playbook.maxFail)): "
                        + failedInBatch.keys.sorted().map { "\($0): \(failedInBatch[$0] ?? "")" }.joined(separator: "; "))
            }
            if abortReason != nil { break }
        }
        if abortReason == nil, let health = playbook.health, !active.isEmpty {
            let unhealthy = await watchHealth(health, hosts: active, batch: number)
            for (host, detail) in unhealthy {
                failedInBatch[host] = detail
                await emit(event(.hostFailed, phase: .health, batch: number, host: host, status: "failed", message: detail))
            }
            active.removeAll { unhealthy[$0] != nil }
            if failedInBatch.count > allowed, abortReason == nil {
                abort(
                    .healthFailed,
                    detail: "health watch failed in batch \(number): "
                        + unhealthy.keys.sorted().map { "\($0): \(unhealthy[$0] ?? "")" }.joined(separator: "; "))
            }
        }
        // Failures within max_fail: those hosts alone are rolled back now.
        if abortReason == nil, !failedInBatch.isEmpty, !options.noRollback {
            await emit(
                event(
                    .rollbackStarted, phase: .rollback, batch: number, status: "tolerated-failure",
                    message: "rolling back \(failedInBatch.keys.sorted().joined(separator: ", ")) (within max_fail \(playbook.maxFail))"))
            _ = await rollbackHosts(failedInBatch.keys.sorted())
        }
        let status = !failedInBatch.isEmpty ? "failed" : abortReason != nil ? "interrupted" : "ok"
        await emit(event(.batchFinished, batch: number, status: status, message: abortReason.map { "stopped: \($0.rawValue)" }))
    }

    private func askGate(_ gate: Step, batch: Int, hosts: [String]) async -> Bool {
        let context = hostContext(hosts.first ?? "")
        let prompt = (try? gate.action.gatePrompt?.render(context, quoting: .plain).display) ?? gate.name
        await emit(event(.gateAsked, batch: batch, step: gate, message: prompt))
        let answer: Bool
        let how: String
        if options.assumeYes {
            answer = true
            how = "--yes (operator \(options.operatorName))"
        } else if let gates {
            let steps = play.playbook.backup + play.playbook.deploy
            let done = steps.filter { $0.index < gate.index || $0.section == .backup }.map(\.name)
            let next = play.playbook.deploy.filter { $0.index > gate.index }.map(\.name)
            answer = await gates.answer(prompt, done: done, next: next)
            how = "operator \(options.operatorName)"
        } else {
            answer = false
            how = "no terminal and no --yes: a gate without an answer is a no"
        }
        await emit(event(.gateAnswered, batch: batch, step: gate, status: answer ? "yes" : "no", message: how))
        return answer
    }

    /// Runs `body` for each host with the batch's work cancellable by ``abort(_:detail:)``.
    private func runCancellable(
        _ hosts: [String], _ body: @escaping @Sendable (Executor, String) async -> StepFailure?
    ) async -> [String: StepFailure?] {
        let task = Task { await self.forEachHost(hosts, body) }
        cancelWork = { task.cancel() }
        if abortReason != nil { task.cancel() }
        let results = await task.value
        cancelWork = nil
        return results
    }

    func forEachHost<R: Sendable>(_ hosts: [String], _ body: @escaping @Sendable (Executor, String) async -> R) async -> [String: R] {
        await Concurrency.forEach(hosts, limit: options.forks, key: { $0 }) { host in await body(self, host) }
    }

    /// A host's template context: its variables, the run's details and its registered results.
    func hostContext(_ host: String) -> TemplateContext {
        play.context(for: host, run: runInfo, registered: state[host].registered)
    }

    // MARK: connections

    func connectAll(_ hosts: [InventoryHost]) async -> [String: String] {
        let results = await forEachHost(hosts.map(\.name)) { executor, name in
            await executor.connect(name)
        }
        return results.compactMapValues { $0 }
    }

    /// Connects (or reconnects) to a host; returns the failure message, nil on success.
    func connect(_ name: String) async -> String? {
        guard let host = play.inventory.host(named: name) else { return "not in the inventory" }
        do {
            let connection = try await transport.connect(to: host)
            connections[name] = connection
            let summary = connection.summary
            await emit(
                event(
                    .hostConnected, phase: .connect, host: name, status: "ok",
                    message: "\(summary.endpoint) \(summary.hostKey) \(summary.authMethod)",
                    details: RunEvent.details(ConnectionDetails(summary: summary))))
            return nil
        } catch {
            await emit(event(.hostUnreachable, phase: .connect, host: name, status: "unreachable", message: "\(error)"))
            return "\(error)"
        }
    }

    private func closeConnections() async {
        for connection in connections.values { await connection.close() }
        connections.removeAll()
    }

    /// The outcome of the run as it stands, one line per host.
    func finish(_ result: RunResult, rollbackRequested: Bool = false, reason: String?) async -> RunOutcome {
        let reports = play.hosts.map { host -> HostReport in
            let run = state[host.name]
            let detail: String
            switch run.state {
            case .rolledBack: detail = run.undoneCount > 0 ? "\(run.undoneCount) step(s) undone" : "nothing needed undoing"
            case .pending, .unchanged: detail = "nothing changed"
            default:
                // A step that failed or never finished is named as such, not counted as applied.
                let applied = run.started.filter(\.confirmed).count, unfinished = run.started.count - applied
                detail = "\(applied) step(s) applied" + (unfinished > 0 ? ", \(unfinished) failed or unfinished" : "")
            }
            return HostReport(host: host.name, state: run.reportedState, detail: detail)
        }
        return RunOutcome(
            result: result, rollbackRequested: rollbackRequested, hosts: reports,
            attention: state.attention.map(redactor.redact), reason: reason.map(redactor.redact))
    }
}

/// A refusal's words (why a run does not start).
struct RefusalMessage: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Step.Action {
    var gatePrompt: Template? {
        if case .gate(let gate) = self { return gate.prompt }
        return nil
    }
}
