import Foundation
import Playbook

extension Executor {
    /// Rolls back every changed host after a failure and returns the run's outcome.
    func rollbackAndReport(reason: AbortReason) async -> RunOutcome {
        let detail = abortDetail ?? reason.rawValue
        let changed = state.changedHosts
        let requested = reason == .requested
        // The store is gone: the servers' tokens say whether this controller may still act.
        if reason == .storeLost, !fenced, let taken = await serverTakenOver() {
            abort(.fenced, detail: "the store stayed unreachable, and \(taken)")
        }
        if fenced {
            // No word about the hosts: they are the other controller's to report.
            return RunOutcome(
                result: .needsAttention,
                reason: "this controller lost the run (\(detail)); it stopped and changed nothing more: the controller that took it over "
                    + "is in charge (see `golive timeline \(options.runID)`)")
        }
        if options.noRollback {
            await emit(
                event(
                    .attentionRequired, status: "no-rollback",
                    message: "--no-rollback: \(changed.joined(separator: ", ")) were changed and left as they are; stopped without rolling back: \(detail)"))
            for host in changed {
                await emit(event(.attentionRequired, host: host, status: "no-rollback", message: "\(host): changed and left as it is (--no-rollback)"))
            }
            return await finish(.needsAttention, reason: detail)
        }
        await emit(
            event(
                .rollbackStarted, phase: .rollback, status: reason.rawValue,
                message: "\(detail); rolling back \(changed.isEmpty ? "nothing (no host was changed)" : changed.joined(separator: ", "))"))
        let clean = await rollbackPlays()
        await emit(event(.rollbackFinished, phase: .rollback, status: clean ? "ok" : "incomplete"))
        if !clean { return await finish(.needsAttention, rollbackRequested: requested, reason: detail) }
        if reason == .interrupted { return await finish(.interrupted, reason: detail) }
        return await finish(.rolledBack, rollbackRequested: requested, reason: detail)
    }
}

extension Executor {
    /// Rolls every play back, the last play first, each play batch by batch (``RollbackSaga/rollbackPlays(in:)``).
    func rollbackPlays() async -> Bool { await RollbackSaga.rollbackPlays(in: self) }
}
