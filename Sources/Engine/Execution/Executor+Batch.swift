import Foundation
import Playbook

/// A batch: every host's backups as a barrier, the deploy steps split at gates, the health watch,
/// `max_fail`, and the rollback of the hosts that failed within it.
extension Executor {
    func runBatch(_ planned: PlannedBatch) async {
        let playbook = self.playbook.plays[planned.play].play
        let number = planned.number
        // A host that failed in an earlier play (within its max_fail, and rolled back) is out of the run.
        let failedBefore = planned.hosts.filter { state[$0].failure != nil }
        let batch = planned.hosts.filter { !failedBefore.contains($0) }
        let label = self.playbook.playbook.hasPlayList ? "\(playbook.id ?? ""): " : ""
        let leftOut = failedBefore.isEmpty ? "" : " (left out, failed in an earlier play: \(failedBefore.joined(separator: ", ")))"
        // Batches are numbered across plays; a failure also names the play's own number (`batch.number` in templates).
        let named = label.isEmpty ? "batch \(number)" : "batch \(number) (\(playbook.id ?? "play")'s batch \(planned.numberInPlay))"
        await emit(event(.batchStarted, batch: number, message: label + batch.joined(separator: ", ") + leftOut))
        guard !batch.isEmpty else {
            await emit(event(.batchFinished, batch: number, status: "ok", message: "no host left in the batch"))
            return
        }
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
                if !(await askGate(gate, batch: number, hosts: active, play: playbook)) {
                    abort(.gateRefused, detail: "gate '\(gate.name)' answered no")
                    break
                }
            }
            guard abortReason == nil, !segment.isEmpty else { continue }
            let failures = await runCancellable(active) { executor, host in
                await StepRunner.runSteps(segment, on: host, phase: nil, batch: number, in: executor)
            }
            for (host, failure) in failures.sorted(by: { $0.key < $1.key }) {
                guard let failure, failure.kind != .cancelled else { continue }
                failedInBatch[host] = failure.description
                // On the record: the host is out of the run (a later play leaves it out).
                await emit(event(.hostFailed, phase: .deploy, batch: number, host: host, status: "failed", message: failure.description))
            }
            for (host, failure) in failures { if let failure, failedInBatch[host] == nil { failedInBatch[host] = failure.description } }
            active.removeAll { failedInBatch[$0] != nil }
            if failedInBatch.count > allowed {
                abort(
                    failedInBatch.count == 1 ? .stepFailed : .maxFailExceeded,
                    detail: "\(failedInBatch.count) host(s) failed in \(named) (max_fail \(playbook.maxFail)): "
                        + failedInBatch.keys.sorted().map { "\($0): \(failedInBatch[$0] ?? "")" }.joined(separator: "; "))
            }
            if abortReason != nil { break }
        }
        if abortReason == nil, let health = playbook.health, !active.isEmpty {
            let unhealthy = await HealthWatch(health: health, play: planned.play).watch(hosts: active, batch: number, in: self)
            for (host, detail) in unhealthy {
                failedInBatch[host] = detail
                await emit(event(.hostFailed, phase: .health, batch: number, host: host, status: "failed", message: detail))
            }
            active.removeAll { unhealthy[$0] != nil }
            if failedInBatch.count > allowed, abortReason == nil {
                abort(
                    .healthFailed,
                    detail: "health watch failed in \(named): "
                        + unhealthy.keys.sorted().map { "\($0): \(unhealthy[$0] ?? "")" }.joined(separator: "; "))
            }
        }
        // Failures within max_fail: those hosts alone are rolled back now.
        if abortReason == nil, !failedInBatch.isEmpty, !options.noRollback {
            await emit(
                event(
                    .rollbackStarted, phase: .rollback, batch: number, status: "tolerated-failure",
                    message: "rolling back \(failedInBatch.keys.sorted().joined(separator: ", ")) (within max_fail \(playbook.maxFail))"))
            _ = await RollbackSaga.rollbackHosts(failedInBatch.keys.sorted(), play: planned.play, in: self)
        }
        let status = !failedInBatch.isEmpty ? "failed" : abortReason != nil ? "interrupted" : "ok"
        await emit(event(.batchFinished, batch: number, status: status, message: abortReason.map { "stopped: \($0.rawValue)" }))
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
}

extension Step.Action {
    var gatePrompt: Template? {
        if case .gate(let gate) = self { return gate.prompt }
        return nil
    }
}
