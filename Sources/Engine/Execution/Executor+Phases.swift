import Foundation
import Playbook
import System

/// The phases before the first change (connect and lock every host, pre-checks and baselines) and
/// the end of a run: its outcome, one line per host, and the locks and connections released.
extension Executor {
    /// Connects to every host and takes the lock on each; an unreachable or locked host refuses
    /// the run before any change.
    func connectAndLock() async -> RunOutcome? {
        await emit(event(.phaseStarted, phase: .connect))
        let unreachable = await connectAll(playbook.connectedHosts)
        await emit(event(.phaseFinished, phase: .connect, status: unreachable.isEmpty ? "ok" : "failed"))
        if !unreachable.isEmpty {
            let reason = "unreachable: " + unreachable.map { "\($0.key) (\($0.value))" }.sorted().joined(separator: "; ")
            return RunOutcome(
                result: .refused,
                hosts: unreachable.map { HostReport(host: $0.key, state: .unreachable, detail: $0.value) }, reason: reason)
        }
        let cannot = await verifyEscalations()
        if !cannot.isEmpty {
            return RunOutcome(
                result: .refused,
                hosts: cannot.keys.sorted().map { HostReport(host: $0, state: .unchanged, detail: "cannot escalate: \(cannot[$0] ?? "")") },
                reason: Self.cannotEscalate(cannot))
        }
        guard options.kind != .check else { return nil }
        let deadline = ContinuousClock.now.advanced(by: options.lockWait ?? .zero)
        while let refusal = await HostLocks.take(playbook.connectedHosts.map(\.name), in: self) {
            guard ContinuousClock.now < deadline, abortReason == nil else {
                return RunOutcome(result: .refused, reason: refusal)
            }
            try? await Task.sleep(for: .seconds(1))
        }
        if let refusal = await takeControllerRecords(stopping: []) { return refusal }
        return nil
    }

    /// Keeps the record of the commands run on the controller when the playbook has any (a
    /// recovery always: the lost controller's are stopped). Refuses the run when it cannot.
    func takeControllerRecords(stopping: [String], always: Bool = false) async -> RunOutcome? {
        guard token != nil, always || playbook.playbook.allSteps.contains(where: \.runsOnController) else { return nil }
        if let failure = await ControllerRecords.take(stopping: stopping, in: self) {
            await HostLocks.release(in: self)
            return RunOutcome(result: .refused, reason: failure)
        }
        controllerRecordsHeld = true
        return nil
    }

    /// Every play's pre-checks on its hosts among `hosts`, play after play, each play's hosts in
    /// parallel: any failure refuses the run (nothing changes unless every play's pass). Then the
    /// baselines of the log and metric probes, whose absolute thresholds must already hold.
    func runPrechecks(_ hosts: [String]) async -> RunOutcome? {
        let wanted = Set(hosts)
        let work = playbook.plays.map { play in
            (play, play.hostNames.filter { wanted.contains($0) },
             play.play.health.map { !HealthWatch.signalProbes($0).isEmpty } ?? false)
        }
        guard work.contains(where: { !$0.1.isEmpty && (!$0.0.play.prechecks.isEmpty || $0.2) }) else { return nil }
        await emit(event(.phaseStarted, phase: .precheck))
        var failed: [String: String] = [:]
        for (play, targets, _) in work where !targets.isEmpty && !play.play.prechecks.isEmpty && failed.isEmpty {
            let prechecks = play.play.prechecks
            let failures = await forEachHost(targets) { executor, host in
                await StepRunner.runSteps(prechecks, on: host, phase: .precheck, batch: nil, in: executor)?.message
            }
            failed.merge(failures.compactMapValues { $0 }) { first, _ in first }
        }
        for (play, targets, baselines) in work where failed.isEmpty && baselines && !targets.isEmpty {
            guard let health = play.play.health else { continue }
            for (host, failure) in await HealthWatch(health: health, play: play.play.index).measureBaselines(hosts: targets, in: self) {
                failed[host] = failure
            }
        }
        await emit(event(.phaseFinished, phase: .precheck, status: failed.isEmpty ? "ok" : "failed"))
        guard !failed.isEmpty else { return nil }
        let reason = "pre-checks failed on " + failed.keys.sorted().map { "\($0) (\(failed[$0] ?? ""))" }.joined(separator: "; ")
        return RunOutcome(
            result: .refused,
            hosts: failed.keys.sorted().map { HostReport(host: $0, state: .unchanged, detail: "pre-check failed: \(failed[$0] ?? "")") },
            reason: reason)
    }

    /// The run's details as `runStarted` records them.
    func startedDetails(schedule: [PlannedBatch]) -> RunStartedDetails {
        let document = playbook.playbook
        var info = RunStartedDetails(
            playbook: document.name, playbookFile: URL(fileURLWithPath: document.file).standardizedFileURL.path,
            inventoryFile: URL(fileURLWithPath: playbook.inventory.file).standardizedFileURL.path, environment: environment,
            kind: options.kind.rawValue, operatorName: options.operatorName, hosts: playbook.hosts.map(\.name),
            batches: schedule.map(\.hosts), controller: ProcessInfo.processInfo.hostName,
            pid: ProcessInfo.processInfo.processIdentifier,
            stepsPerHost: document.plays.map { $0.backup.count + $0.deploy.count }.max() ?? 0)
        if document.hasPlayList {
            info.plays = document.plays.map { play in
                "\(play.id ?? "play\(play.index + 1)")=" + schedule.filter { $0.play == play.index }.map { String($0.number) }.joined(separator: ",")
            }.joined(separator: ";")
        }
        info.vars = options.recorded["vars"]
        let sources = playbook.inventory.sources.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        if sources.count > 1, let data = try? JSONEncoder().encode(sources) { info.inventoryFiles = String(decoding: data, as: UTF8.self) }
        info.limit = options.recorded["limit"]
        info.planFingerprint = options.recorded["plan_fingerprint"]
        if let window = document.window {
            info.windowStart = Timestamp.seconds(window.start)
            info.windowEnd = Timestamp.seconds(window.end)
            info.rollbackPoint = Timestamp.seconds(windowGuard.rollbackPoint(window))
        }
        return info
    }

    /// Releases the host and store locks, closes the connections and records the end of the run.
    /// The outcome is redacted: its words reach the console.
    func close(_ outcome: RunOutcome) async -> RunOutcome {
        var outcome = redactor.redact(outcome)
        if let spillPath {
            outcome.reason = (outcome.reason.map { $0 + "; " } ?? "")
                + "the timeline's last events are in the spill journal \(spillPath), replayed into the store "
                + "by the next golive command that reaches it (or `golive store sync`)"
        }
        if fenced {
            // The locks are another controller's now: leave them, and record nothing.
            await closeConnections()
            return outcome
        }
        await HostLocks.release(in: self)
        await closeConnections()
        if controllerRecordsHeld, let token {
            await ControllerRecords.release(runID: options.runID, token: token)
            controllerRecordsHeld = false
        }
        if let lock, let token {
            do {
                try await lock.release(environment: environment, token: token)
                await emit(event(.lockReleased, message: "environment \(environment) unlocked"))
            } catch {
                await emit(
                    event(
                        .lockReleased, status: "failed",
                        message: "environment \(environment) stays locked in the store (\(error)): "
                            + (spillPath != nil ? "its release is replayed with the spill" : "its lease runs out, or `golive unlock \(environment) --reason ...`")))
            }
        }

        outcome.attention += await finishNotifications(outcome)
        await emit(
            event(
                .runFinished, status: outcome.result.rawValue, message: outcome.reason,
                details: RunEvent.details(
                    RunFinishedDetails(
                        exitCode: Int(outcome.exitCode), durationMS: Int(Date().timeIntervalSince(started) * 1000)))))
        return outcome
    }

    /// Ends a recovery that refused before it touched anything: the environment lock it took is
    /// given back, and nothing else changes — the hosts keep the lost run's locks, its unfinished
    /// steps stay open, no end is recorded — so new runs are still refused and the next recovery
    /// finds the run as the lost controller left it.
    func closeUntouched(_ outcome: RunOutcome) async -> RunOutcome {
        let outcome = redactor.redact(outcome)
        await closeConnections()
        if let lock, let token {
            try? await lock.release(environment: environment, token: token)
            await emit(event(.lockReleased, message: "environment \(environment) unlocked (the recovery was refused: \(outcome.reason ?? ""))"))
        }
        return outcome
    }

    /// The outcome of the run as it stands, one line per host.
    func finish(_ result: RunResult, rollbackRequested: Bool = false, reason: String?) async -> RunOutcome {
        let reports = playbook.hosts.map { host -> HostReport in
            let run = state[host.name]
            var detail: String
            switch run.state {
            case .rolledBack: detail = run.undoneCount > 0 ? "\(run.undoneCount) step(s) undone" : "nothing needed undoing"
            case .pending, .unchanged: detail = "nothing changed"
            default:
                // A step that failed or never finished is named as such, not counted as applied.
                let applied = run.started.filter(\.confirmed).count, unfinished = run.started.count - applied
                let undone = run.started.filter { run.undone.contains($0.id) }.count
                if undone > 0 {
                    // A rollback that got part of the way: what it undid, not what was applied.
                    detail = "\(undone) of \(run.started.count) step(s) undone, then the rollback stopped (see what needs attention)"
                } else {
                    detail = "\(applied) step(s) applied" + (unfinished > 0 ? ", \(unfinished) failed or unfinished" : "")
                }
            }
            // "Rolled back" never claims more than was done: the steps nothing undid are named.
            let unsaid = run.notUndone.isEmpty ? "" : "; not undone: " + run.notUndone.map { "'\($0)'" }.joined(separator: ", ") + " (no rollback)"
            detail += unsaid
            return HostReport(host: host.name, state: run.reportedState, detail: detail)
        }
        return RunOutcome(
            result: result, rollbackRequested: rollbackRequested, hosts: reports,
            attention: state.attention.map(redactor.redact), reason: reason.map(redactor.redact))
    }
}
