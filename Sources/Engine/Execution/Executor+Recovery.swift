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

    /// Continues or rolls back the run whose journal this executor was created with (`history`):
    /// the controller died, or a finished run must be undone. Steps that were started but never
    /// confirmed are marked `controllerLost` and count as done for rollback. The environment lock
    /// is taken again for the duration.
    public func recover(_ recovery: Recovery) async -> RunOutcome {
        let batches = Planner.batches(play.hosts.map(\.name), serial: play.playbook.serial)
        let finished = state.result != nil
        await emit(
            event(
                .runResumed, status: recovery.rawValue,
                message: "\(recovery == .rollback ? "rolling back" : "resuming") run \(options.runID) from its journal (\(state.eventCount) events)"
                    + (finished ? "" : "; the controller was lost")))
        for (host, open) in state.openSteps {
            await emit(
                RunEvent(
                    runID: options.runID, kind: .controllerLost, phase: open.phase, batch: open.batch, host: host,
                    step: open.id, stepName: open.name, status: StepStatus.lost.rawValue,
                    message: "started at \(ISO8601DateFormatter().string(from: open.time)) and never confirmed: counted as done"))
        }
        let lease: Task<Void, Never>?
        switch await takeEnvironmentLock(reason: "recovery") {
        case .failure(let refusal):
            await emit(event(.runFinished, status: RunResult.refused.rawValue, message: refusal.description))
            return RunOutcome(result: .refused, reason: refusal.description)
        case .success(let task):
            lease = task
        }
        let outcome: RunOutcome
        switch recovery {
        case .rollback:
            // Every host: the changed ones to roll back, all of them to release the lost run's host locks.
            _ = await connectAll(play.hosts)
            outcome = await rollbackAndReport(reason: .requested)
        case .resume:
            let unreachable = await connectAll(play.hosts)
            if !unreachable.isEmpty {
                abort(.stepFailed, detail: "unreachable on resume: " + unreachable.keys.sorted().joined(separator: ", "))
                outcome = await rollbackAndReport(reason: .stepFailed)
            } else {
                for (index, batch) in batches.enumerated() where abortReason == nil && !state.finishedBatches.contains(index + 1) {
                    await runBatch(batch, number: index + 1)
                }
                if let reason = abortReason {
                    outcome = await rollbackAndReport(reason: reason)
                } else {
                    outcome = await finish(.succeeded, reason: "resumed and finished")
                }
            }
        }
        // The host locks of the lost controller carry this run's id: released with ours.
        await releaseHostLocks(play.hosts.map(\.name), unrecorded: true)
        lease?.cancel()
        await lease?.value
        return await close(outcome)
    }
}
