import Foundation
import Playbook

extension Executor {
    /// What to do with a run found in the journal.
    public enum Recovery: String, Sendable {
        /// Finish the run: skip steps confirmed done, run the rest.
        case resume
        /// Roll back exactly the hosts and steps that need it.
        case rollback
    }

    /// Continues or rolls back a run from its journal (the controller died, or a finished run must be
    /// undone). Steps that were started but never confirmed are marked `controllerLost` and count as
    /// done for rollback. The environment lock is taken again for the duration.
    public func recover(from events: [RunEvent], _ recovery: Recovery) async -> RunOutcome {
        let batches = Planner.batches(play.hosts.map(\.name), serial: play.playbook.serial)
        let stepsByID = Dictionary(play.playbook.allSteps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var open: [String: RunEvent] = [:]
        var confirmed: [String: Set<String>] = [:]
        var finishedBatches = Set<Int>()
        var rolledBack = Set<String>()
        for event in events {
            let host = event.host ?? ""
            let key = "\(host)|\(event.step ?? "")"
            switch event.kind {
            case .stepStarted:
                open[key] = event
                if event.phase == .backup || event.phase == .deploy, let step = event.step.flatMap({ stepsByID[$0] }),
                    !(startedSteps[host] ?? []).contains(where: { $0.id == step.id })
                {
                    startedSteps[host, default: []].append(step)
                    rolledBack.remove(host)
                }
            case .stepFinished:
                open[key] = nil
                if event.status == "ok", let stepID = event.step { confirmed[host, default: []].insert(stepID) }
                if let stepID = event.step, let step = stepsByID[stepID], let name = step.register {
                    let attempt = StepAttempt(
                        ok: event.status == "ok", status: event.status ?? "failed", exitCode: event.exitCode,
                        command: event.command ?? "", stdout: event.stdout ?? "", stderr: event.stderr ?? "")
                    registered[host, default: [:]][name] = Self.result(attempt, skipped: false, attempts: event.attempt ?? 1)
                }
            case .stepSkipped:
                if let stepID = event.step { confirmed[host, default: []].insert(stepID) }
            case .backupRecorded:
                if let stepID = event.step, let path = event.details?["path"], let archive = event.details?["archive"] {
                    archives[host, default: [:]][stepID] = (path, archive)
                }
            case .batchFinished:
                if event.status == "ok", let batch = event.batch { finishedBatches.insert(batch) }
            case .rollbackHostFinished:
                if event.status == "ok" { rolledBack.insert(host) }
            case .controllerLost:
                open[key] = nil
            case .probeRound where event.phase == .precheck:
                // The baselines of the log and metric probes, as measured before the change.
                for pair in (event.details?["baselines"] ?? "").split(separator: ";") {
                    let parts = pair.split(separator: "=")
                    if parts.count == 2, let value = Double(parts[1]) { signals[host, default: SignalState()].baselines[String(parts[0])] = value }
                }
            default:
                break
            }
        }
        for host in rolledBack {
            startedSteps[host] = nil
            hostState[host] = "rolled-back"
        }
        let finished = events.contains { $0.kind == .runFinished }
        await emit(
            event(
                .runResumed, status: recovery.rawValue,
                message: "\(recovery == .rollback ? "rolling back" : "resuming") run \(options.runID) from its journal (\(events.count) events)"
                    + (finished ? "" : "; the controller was lost")))
        for (_, started) in open.sorted(by: { ($0.value.sequence ?? 0) < ($1.value.sequence ?? 0) }) {
            await emit(
                RunEvent(
                    runID: options.runID, kind: .controllerLost, phase: started.phase, batch: started.batch, host: started.host,
                    step: started.step, stepName: started.stepName, status: "lost",
                    message: "started at \(ISO8601DateFormatter().string(from: started.time)) and never confirmed: counted as done"))
        }
        if let lock {
            do {
                try await lock.acquire(environment: environment, runID: options.runID, operatorName: options.operatorName, reason: "recovery")
                await emit(event(.lockTaken, message: "environment \(environment) locked by \(options.operatorName)"))
            } catch {
                await emit(event(.runFinished, status: "refused", message: "\(error)"))
                return RunOutcome(exitCode: 3, status: "refused", hosts: [], attention: [], reason: "\(error)")
            }
        }
        let outcome: RunOutcome
        switch recovery {
        case .rollback:
            // Every host: the changed ones to roll back, all of them to release the lost run's host locks.
            let changed = changedHosts()
            let unreachable = await connectAll(play.hosts)
            for host in unreachable.keys where changed.contains(host) { hostState[host] = "unreachable" }
            outcome = await rollbackAndReport(reason: .requested)
        case .resume:
            let unreachable = await connectAll(play.hosts)
            if !unreachable.isEmpty {
                abort(.stepFailed, detail: "unreachable on resume: " + unreachable.keys.sorted().joined(separator: ", "))
                for host in unreachable.keys { hostState[host] = "unreachable" }
                outcome = await rollbackAndReport(reason: .stepFailed)
            } else {
                self.confirmedSteps = confirmed
                for (index, batch) in batches.enumerated() where abortReason == nil && !finishedBatches.contains(index + 1) {
                    await runBatch(batch, number: index + 1)
                }
                if let reason = abortReason {
                    outcome = await rollbackAndReport(reason: reason)
                } else {
                    outcome = await finish(exitCode: 0, status: "succeeded", reason: "resumed and finished")
                }
            }
        }
        // The host locks of the lost controller carry this run's id: release them.
        heldHostLocks = Set(play.hosts.map(\.name).filter { connections[$0] != nil })
        return await close(outcome)
    }
}
