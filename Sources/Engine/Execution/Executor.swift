import Foundation
import Playbook

/// Runs one go-live: lock, window, connect, pre-checks, then per batch backups, deploy steps and the
/// health watch; on any failure, rolls back every host that changed.
///
/// Every transition is appended to the journal, and confirmed, before the action it announces. The
/// executor owns the run's state; hosts of a batch run in parallel, bounded by `forks`.
public actor Executor {
    let play: ValidatedPlay
    let transport: any Transport
    let journal: any Journal
    let observer: (any RunObserver)?
    let lock: (any EnvironmentLock)?
    let gates: (any GateAnswerer)?
    let options: RunOptions
    let redactor: Redactor
    let started = Date()

    var connections: [String: any HostConnection] = [:]
    var registered: [String: [String: Value]] = [:]
    /// Steps started on each host (backup and deploy), in order: what rollback undoes.
    var startedSteps: [String: [Step]] = [:]
    /// Rendered `archive` paths per host and step id.
    var archives: [String: [String: (path: String, archive: String)]] = [:]
    var hostState: [String: String] = [:]
    var abortReason: AbortReason?
    var abortDetail: String?
    /// Cancels the batch work in flight (set while a batch segment runs).
    var cancelWork: (@Sendable () -> Void)?
    var journalBroken = false
    var attention: [String] = []
    var runOnceResults: [String: Value] = [:]
    var runOnceFailed: Set<String> = []
    /// Hosts whose environment lock this run holds.
    var heldHostLocks: Set<String> = []
    /// Steps a resumed run skips: confirmed done before the controller was lost.
    var confirmedSteps: [String: Set<String>] = [:]
    /// Per host: log positions, recent counts and baselines of the log and metric probes.
    var signals: [String: SignalState] = [:]

    /// Creates an executor for one run.
    public init(
        play: ValidatedPlay, transport: any Transport, journal: any Journal, observer: (any RunObserver)? = nil,
        lock: (any EnvironmentLock)? = nil, gates: (any GateAnswerer)? = nil, options: RunOptions
    ) {
        self.play = play
        self.transport = transport
        self.journal = journal
        self.observer = observer
        self.lock = lock
        self.gates = gates
        self.options = options
        redactor = Redactor(secrets: play.inventory.secrets.values.compactMap { $0.value?.revealForUse() })
    }

    var environment: String { play.inventory.environment }
    var runInfo: [String: Value] {
        [
            "id": .string(options.runID), "kind": .string(options.kind.rawValue),
            "started": .string(ISO8601DateFormatter().string(from: started)), "environment": .string(environment),
            "operator": .string(options.operatorName),
        ]
    }

    /// Stops the run at the next safe point and rolls back (SIGINT/SIGTERM, the window's rollback point).
    /// Steps in flight are stopped; they count as done for rollback.
    public func abort(_ reason: AbortReason, detail: String? = nil) {
        guard abortReason == nil else { return }
        abortReason = reason
        abortDetail = detail
        cancelWork?()
    }


    // MARK: events

    /// Appends an event durably, then shows it. A journal failure aborts the run (it must not go on unrecorded).
    @discardableResult
    func emit(_ event: RunEvent) async -> Bool {
        var event = event
        event.command = event.command.map(redactor.redact)
        event.stdout = event.stdout.map(redactor.redact)
        event.stderr = event.stderr.map(redactor.redact)
        event.message = event.message.map(redactor.redact)
        if !journalBroken {
            do {
                event.sequence = try await journal.append(event)
            } catch {
                journalBroken = true
                observer?.observe(
                    RunEvent(
                        runID: options.runID, kind: .attentionRequired,
                        message: "the timeline cannot be written (\(error)); stopping and rolling back"))
                abort(.journalFailed, detail: "\(error)")
                observer?.observe(event)
                return false
            }
        }
        observer?.observe(event)
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

    /// Runs the go-live to its end and returns the outcome (exit code and report).
    public func run() async -> RunOutcome {
        let playbook = play.playbook
        let batches = Planner.batches(play.hosts.map(\.name), serial: playbook.serial)
        let formatter = ISO8601DateFormatter()
        var info: [String: String] = [
            "playbook": playbook.name, "playbook_file": URL(fileURLWithPath: playbook.file).standardizedFileURL.path,
            "inventory_file": URL(fileURLWithPath: play.inventory.file).standardizedFileURL.path,
            "environment": environment, "kind": options.kind.rawValue, "operator": options.operatorName,
            "hosts": play.hosts.map(\.name).joined(separator: ","), "batches": String(batches.count),
            "controller": ProcessInfo.processInfo.hostName, "pid": String(ProcessInfo.processInfo.processIdentifier),
            "steps_per_host": String(playbook.backup.count + playbook.deploy.count),
            "batch_hosts": batches.map { $0.joined(separator: ",") }.joined(separator: ";"),
        ]
        for (key, value) in options.recorded { info[key] = value }
        if let window = playbook.window {
            info["window_start"] = formatter.string(from: window.start)
            info["window_end"] = formatter.string(from: window.end)
            info["rollback_point"] = formatter.string(from: effectiveRollbackPoint(window))
        }
        guard await emit(event(.runStarted, message: "\(options.kind.rawValue) of \(playbook.name) on \(environment)", details: info)) else {
            return await finish(exitCode: 4, status: "failed", reason: "the timeline cannot be written")
        }
        var lease: Task<Void, Never>?
        if let lock {
            let deadline = ContinuousClock.now.advanced(by: options.lockWait ?? .zero)
            var announced = false
            while true {
                do {
                    try await lock.acquire(
                        environment: environment, runID: options.runID, operatorName: options.operatorName,
                        reason: playbook.name)
                    await emit(event(.lockTaken, message: "environment \(environment) locked by \(options.operatorName)"))
                    break
                } catch let held as LockHeld where ContinuousClock.now < deadline && abortReason == nil {
                    if !announced {
                        announced = true
                        await emit(event(.lockTaken, status: "waiting", message: "waiting for the lock: \(held)"))
                    }
                    try? await Task.sleep(for: .seconds(1))
                } catch {
                    await emit(event(.runFinished, status: "refused", message: "\(error)", details: ["exit_code": "3"]))
                    return RunOutcome(exitCode: 3, status: "refused", hosts: [], attention: [], reason: "\(error)")
                }
            }
            // The lease shows the lock's holder is alive; a lock whose lease stops moving is shown as stale.
            let (environment, runID, interval) = (environment, options.runID, options.leaseInterval)
            lease = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    try? await lock.refresh(environment: environment, runID: runID)
                }
            }
        }
        let outcome = await runLocked(batches: batches)
        lease?.cancel()
        await lease?.value
        return await close(outcome)
    }

    /// Releases the host and store locks, closes the connections and records the end of the run.
    func close(_ outcome: RunOutcome) async -> RunOutcome {
        await releaseHostLocks()
        await closeConnections()
        if let lock {
            try? await lock.release(environment: environment, runID: options.runID)
            await emit(event(.lockReleased, message: "environment \(environment) unlocked"))
        }
        await emit(
            event(
                .runFinished, status: outcome.status, message: outcome.reason,
                details: ["exit_code": String(outcome.exitCode), "duration_ms": String(Int(Date().timeIntervalSince(started) * 1000))]))
        return outcome
    }

    private func runLocked(batches: [[String]]) async -> RunOutcome {
        let playbook = play.playbook
        if options.kind == .run || options.kind == .rehearse, let refusal = await checkWindow() {
            return RunOutcome(exitCode: 3, status: "refused", hosts: [], attention: [], reason: refusal)
        }
        // Connect to every host; an unreachable host refuses the run before any change.
        await emit(event(.phaseStarted, phase: .connect))
        let unreachable = await connectAll(play.hosts)
        await emit(event(.phaseFinished, phase: .connect, status: unreachable.isEmpty ? "ok" : "failed"))
        if !unreachable.isEmpty {
            let reason = "unreachable: " + unreachable.map { "\($0.key) (\($0.value))" }.sorted().joined(separator: "; ")
            return RunOutcome(
                exitCode: 3, status: "refused",
                hosts: unreachable.map { HostReport(host: $0.key, state: "unreachable", detail: $0.value) }, attention: [],
                reason: reason)
        }
        if options.kind != .check {
            let deadline = ContinuousClock.now.advanced(by: options.lockWait ?? .zero)
            while let refusal = await takeHostLocks(play.hosts.map(\.name)) {
                guard ContinuousClock.now < deadline, abortReason == nil else {
                    return RunOutcome(exitCode: 3, status: "refused", hosts: [], attention: [], reason: refusal)
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        // Pre-checks on every host in parallel: any failure refuses the run. Then the baselines of
        // the log and metric probes, whose absolute thresholds must already hold.
        let baselines = playbook.health.map { !signalProbes($0).isEmpty } ?? false
        if !playbook.prechecks.isEmpty || baselines {
            await emit(event(.phaseStarted, phase: .precheck))
            let failures = await forEachHost(play.hosts.map(\.name)) { executor, host in
                await executor.runSteps(playbook.prechecks, on: host, phase: .precheck, batch: nil)
            }
            var failed = failures.filter { $0.value != nil }
            if failed.isEmpty, baselines, let health = playbook.health {
                for (host, failure) in await measureBaselines(health, hosts: play.hosts.map(\.name)) {
                    failed[host] = .some(failure)
                }
            }
            await emit(event(.phaseFinished, phase: .precheck, status: failed.isEmpty ? "ok" : "failed"))
            if !failed.isEmpty {
                let reason = "pre-checks failed on " + failed.keys.sorted().map { "\($0) (\(failed[$0].flatMap { $0 } ?? ""))" }.joined(separator: "; ")
                return RunOutcome(
                    exitCode: 3, status: "refused",
                    hosts: failed.keys.sorted().map { HostReport(host: $0, state: "unchanged", detail: "pre-check failed: \(failed[$0].flatMap { $0 } ?? "")") },
                    attention: [], reason: reason)
            }
        }
        if options.kind == .check {
            return RunOutcome(
                exitCode: 0, status: "succeeded", hosts: play.hosts.map { HostReport(host: $0.name, state: "unchanged", detail: "pre-checks passed") },
                attention: [], reason: nil)
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
            await emit(event(.rollbackStarted, phase: .rollback, status: AbortReason.requested.rawValue, message: "rehearsal: rolling back on purpose"))
            let clean = await rollbackHosts(changedHosts())
            return await finish(exitCode: clean ? 0 : 4, status: clean ? "rolled-back" : "needs-attention", reason: "rehearsal rolled back on purpose")
        }
        return await finish(exitCode: 0, status: "succeeded", reason: nil)
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
                await emit(event(.windowChecked, status: "waiting", message: "waiting for the window to open at \(formatter.string(from: window.start))"))
                try? await Task.sleep(for: .seconds(window.start.timeIntervalSince(now)))
                if Task.isCancelled || abortReason != nil { return "interrupted while waiting for the window" }
                now = Date()
            } else {
                let message = "outside the window: it opens at \(formatter.string(from: window.start)) (in \(Int(window.start.timeIntervalSince(now)))s); use --wait-for-window to wait"
                await emit(event(.windowChecked, status: "refused", message: message))
                await emit(event(.runFinished, status: "refused", message: message))
                return message
            }
        }
        if now >= effectiveRollbackPoint(window) {
            let message = "past the window's rollback point (\(formatter.string(from: effectiveRollbackPoint(window)))): too late to start"
            await emit(event(.windowChecked, status: "refused", message: message))
            return message
        }
        if let prediction = options.prediction {
            let fit = prediction.fit(window, startingAt: now)
            let message = "the rehearsal \(prediction.rehearsalID) (\(formatter.string(from: prediction.rehearsed))) predicts \(Int(prediction.run.rounded()))s"
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
    private func startWindowWatch() -> Task<Void, Never>? {
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
            for (host, failure) in failures { if let failure { failedInBatch[host] = failure } }
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
        for host in active where hostState[host] == nil { hostState[host] = "changed" }
        await emit(event(.batchFinished, batch: number, status: failedInBatch.isEmpty ? "ok" : "failed"))
    }

    private func askGate(_ gate: Step, batch: Int, hosts: [String]) async -> Bool {
        let context = play.context(for: hosts.first ?? "", run: runInfo, registered: registered[hosts.first ?? ""] ?? [:])
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
        _ hosts: [String], _ body: @escaping @Sendable (Executor, String) async -> String?
    ) async -> [String: String?] {
        let task = Task { await self.forEachHost(hosts, body) }
        cancelWork = { task.cancel() }
        if abortReason != nil { task.cancel() }
        let results = await task.value
        cancelWork = nil
        return results
    }

    func forEachHost(_ hosts: [String], _ body: @escaping @Sendable (Executor, String) async -> String?) async -> [String: String?] {
        await Concurrency.forEach(hosts, limit: options.forks, key: { $0 }) { host in await body(self, host) }
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
                    details: ["setup_ms": String(Int(summary.setupTime.seconds * 1000))]))
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

    func changedHosts() -> [String] {
        play.hosts.map(\.name).filter { !(startedSteps[$0] ?? []).isEmpty && hostState[$0] != "rolled-back" }
    }

    func finish(exitCode: Int32, status: String, reason: String?) async -> RunOutcome {
        let reports = play.hosts.map { host -> HostReport in
            let state = hostState[host.name] ?? ((startedSteps[host.name] ?? []).isEmpty ? "unchanged" : "changed")
            let steps = (startedSteps[host.name] ?? []).count
            return HostReport(host: host.name, state: state, detail: "\(steps) step(s) applied")
        }
        return RunOutcome(exitCode: exitCode, status: status, hosts: reports, attention: attention, reason: reason)
    }
}

extension Step.Action {
    var gatePrompt: Template? {
        if case .gate(let gate) = self { return gate.prompt }
        return nil
    }
}
