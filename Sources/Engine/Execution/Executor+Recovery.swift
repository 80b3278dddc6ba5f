import Foundation
import Playbook
import System

extension Executor {
    /// What to do with a run found in the journal.
    public enum Recovery: String, Sendable {
        /// Finish the run: skip steps confirmed done, run the rest.
        case resume
        /// Roll back exactly the hosts and steps that need it.
        case rollback
    }

    /// How a recovery takes the run over from its lost controller (decided by ``RecoveryGuard``).
    public struct Takeover: Sendable {
        /// The fencing token of the lock's holder it replaces (nil: the lock is free).
        public var replacing: String?
        /// What `--force` overrode, recorded on the timeline.
        public var note: String?
        /// Reads the run's journal again once the run is taken over (what the lost controller
        /// appended while the recovery was being decided is folded in too).
        public var reload: (@Sendable () async throws -> [RunEvent])?

        /// Creates a takeover.
        public init(replacing: String?, note: String?, reload: (@Sendable () async throws -> [RunEvent])? = nil) {
            self.replacing = replacing
            self.note = note
            self.reload = reload
        }
    }

    /// Continues or rolls back the run whose journal this executor was created with (`history`):
    /// the controller died, or a finished run must be undone.
    ///
    /// The run is taken over first: the environment lock gets a new fencing token (the lost
    /// controller's journal appends are refused from then on), each host's lock directory gets
    /// it too, and the commands the lost controller left running for unfinished steps are stopped
    /// (TERM, then KILL), each on the timeline. Steps started and never confirmed are marked
    /// `controllerLost` and count as done for rollback. A resume re-runs the pre-checks of the
    /// hosts that had not started changing, and is refused past the window's rollback point.
    public func recover(_ recovery: Recovery, takeover: Takeover = Takeover(replacing: nil, note: nil)) async -> RunOutcome {
        await watchStore()
        let schedule = Planner.schedule(playbook)
        let finished = state.result != nil
        // Take the run over before writing anything to its journal: once the lock (and so the
        // run's fence) is ours, no other controller can append to it.
        let lease: Task<Void, Never>?
        switch await takeEnvironmentLock(reason: "recovery", replacing: takeover.replacing, announce: false) {
        case .failure(let refusal):
            return RunOutcome(result: .refused, reason: refusal.description)
        case .success(let task):
            lease = task
        }
        // What the lost controller appended while this recovery was being decided.
        if let reload = takeover.reload, let history = try? await reload(), history.count > state.eventCount {
            state = RunState.replay(history, runID: options.runID)
            nextSequence = state.lastSequence + 1
        }
        // The commands the lost controller may have left running: its unfinished steps and undos.
        var stopping: [String: [String]] = [:]
        // A delegated step's command runs on the host it was delegated to, a controller step's on
        // the controller, each under a tag naming its host.
        var onController: [String] = []
        // Those that ran escalated are stopped through the same escalation too.
        var escalated: [String: [String: Escalation]] = [:]
        func stop(_ step: String, on host: String, delegatedTo: String?, tag: (String?) -> String) {
            let started = state[host].started.first { $0.id == step }
            let escalation = stepsByID[step].flatMap { self.escalation(for: $0, on: host) }
            if started?.onController == true || stepsByID[step]?.runsOnController == true {
                onController.append(tag(host))
            } else if let place = delegatedTo ?? started?.delegateTo {
                stopping[place, default: []].append(tag(host))
                if let escalation { escalated[place, default: [:]][tag(host)] = escalation }
            } else {
                stopping[host, default: []].append(tag(nil))
                if let escalation { escalated[host, default: [:]][tag(nil)] = escalation }
            }
        }
        for (host, open) in state.openSteps {
            stop(open.id, on: host, delegatedTo: open.delegateTo) { HostLock.tag(step: open.id, attempt: open.attempt, for: $0) }
        }
        for host in state.hostOrder {
            for (step, attempt) in state[host].openUndos {
                stop(step, on: host, delegatedTo: nil) { HostLock.tag(undoing: step, attempt: attempt, for: $0) }
            }
        }
        await emit(
            event(
                .runResumed, status: recovery.rawValue,
                message: "\(recovery == .rollback ? "rolling back" : "resuming") run \(options.runID) from its journal (\(state.eventCount) events)"
                    + (finished ? "" : "; the controller was lost") + (takeover.note.map { "; \($0) by \(options.operatorName)" } ?? "")))
        if lock != nil {
            await emit(
                event(
                    .lockTaken,
                    message: "environment \(environment) locked by \(options.operatorName)"
                        + (takeover.replacing != nil ? " (taken over from the lost controller: its token is void)" : "")))
        }
        let outcome = await recoverLocked(recovery, schedule: schedule, stopping: stopping, escalated: escalated, onController: onController)
        if refusedUntouched {
            lease?.cancel()
            await lease?.value
            return await closeUntouched(outcome)
        }
        // The host locks of the lost controller carry this run's id: released with ours.
        if !fenced { await HostLocks.release(playbook.connectedHosts.map(\.name), unrecorded: true, in: self) }
        lease?.cancel()
        await lease?.value
        return await close(outcome)
    }

    private func recoverLocked(
        _ recovery: Recovery, schedule: [PlannedBatch], stopping: [String: [String]], escalated: [String: [String: Escalation]],
        onController: [String]
    ) async -> RunOutcome {
        // Every host: the changed ones to roll back or finish, all of them to take over (or
        // release) the lost run's host locks.
        let unreachable = await connectAll(playbook.connectedHosts)
        let reachable = playbook.connectedHosts.map(\.name).filter { unreachable[$0] == nil }
        // What runs as another user can only be stopped, and undone, through the escalation: a
        // recovery that could not escalate refuses before it touches anything (a later one tries again).
        let cannot = await verifyEscalations(on: reachable)
        if !cannot.isEmpty {
            refusedUntouched = true
            return RunOutcome(
                result: .refused,
                reason: Self.cannotEscalate(cannot) + "; nothing was stopped or undone: recover again once it can")
        }
        if let refusal = await HostLocks.take(reachable, stopping: stopping, escalated: escalated, in: self) {
            return RunOutcome(result: .refused, reason: refusal)
        }
        // Only now, with the hosts taken over and what the lost controller ran stopped, are its
        // unfinished steps closed on the record (a refused recovery leaves them open for the next).
        for (host, open) in state.openSteps {
            await emit(
                RunEvent(
                    runID: options.runID, kind: .controllerLost, phase: open.phase, batch: open.batch, host: host,
                    step: open.id, stepName: open.name, status: StepStatus.lost.rawValue,
                    message: "started at \(Timestamp.seconds(open.time)) and never confirmed: counted as done"))
        }
        // The lost controller's own commands: stopped here when it ran on this machine.
        let lostOn = state.info?.controller
        if !onController.isEmpty, let lostOn, lostOn != ProcessInfo.processInfo.hostName {
            await emit(
                event(
                    .attentionRequired, status: "controller-elsewhere",
                    message: "the lost controller ran on \(lostOn): commands it ran there for \(onController.count) step(s) may still run; stop them on \(lostOn) (their records are under \(ControllerRecords.root(runID: options.runID)))"))
        }
        if let refusal = await takeControllerRecords(stopping: onController, always: true) { return refusal }
        switch recovery {
        case .rollback:
            return await rollbackAndReport(reason: .requested)
        case .resume:
            if !unreachable.isEmpty {
                abort(.stepFailed, detail: "unreachable on resume: " + unreachable.keys.sorted().joined(separator: ", "))
                return await rollbackAndReport(reason: .stepFailed)
            }
            if let refusal = await resumeWindowRefusal() {
                return RunOutcome(result: .refused, reason: refusal)
            }
            // The pre-checks gate every host that has not started changing yet.
            let unstarted = state.hostOrder.filter { state[$0].started.isEmpty }
            if let refused = await runPrechecks(unstarted) {
                guard !state.changedHosts.isEmpty else { return refused }
                abort(.stepFailed, detail: "on resume, " + (refused.reason ?? "pre-checks failed"))
                return await rollbackAndReport(reason: .stepFailed)
            }
            let watcher = startWindowWatch()
            defer { watcher?.cancel() }
            for batch in schedule where abortReason == nil && !state.finishedBatches.contains(batch.number) {
                await runBatch(batch)
            }
            watcher?.cancel()
            if let reason = abortReason { return await rollbackAndReport(reason: reason) }
            return await finish(.succeeded, reason: "resumed and finished")
        }
    }

    /// A resumed run goes on only inside its window, as a new run would (unless the run was
    /// started with `--ignore-window`): past the rollback point, only a rollback is left.
    private func resumeWindowRefusal() async -> String? {
        guard options.kind == .run, let window = playbook.playbook.window,
            !state.overrides.contains("window")
        else { return nil }
        let point = effectiveRollbackPoint(window)
        guard Date() >= point else { return nil }
        let message =
            "past the window's rollback point (\(Timestamp.seconds(point))): the run cannot go on; "
            + "roll it back with `golive resume \(options.runID) --rollback`"
        await emit(event(.windowChecked, status: "refused", message: message))
        return message
    }
}
