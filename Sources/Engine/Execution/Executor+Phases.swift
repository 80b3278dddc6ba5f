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
        while let refusal = await HostLocks.take(play.hosts.map(\.name), in: self) {
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
        let baselines = playbook.health.map { !HealthWatch.signalProbes($0).isEmpty } ?? false
        guard !playbook.prechecks.isEmpty || baselines, !hosts.isEmpty else { return nil }
        await emit(event(.phaseStarted, phase: .precheck))
        let failures = await forEachHost(hosts) { executor, host in
            await StepRunner.runSteps(playbook.prechecks, on: host, phase: .precheck, batch: nil, in: executor)?.message
        }
        var failed = failures.compactMapValues { $0 }
        if failed.isEmpty, baselines, let health = playbook.health {
            for (host, failure) in await HealthWatch(health: health).measureBaselines(hosts: hosts, in: self) { failed[host] = failure }
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
            info.windowStart = Timestamp.seconds(window.start)
            info.windowEnd = Timestamp.seconds(window.end)
            info.rollbackPoint = Timestamp.seconds(windowGuard.rollbackPoint(window))
        }
        return info
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
        await HostLocks.release(in: self)
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
