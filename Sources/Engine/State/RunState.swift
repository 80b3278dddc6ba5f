import Foundation
import Playbook

/// A run's state as a value: the fold of its events. It changes only through ``apply(_:)``, a pure
/// function, so the live run, a recovery (the journal replayed), `watch`, the report and the
/// store's derived tables all read the same state.
public struct RunState: Sendable, Hashable {
    /// The run.
    public var runID: String
    /// What `runStarted` recorded.
    public var info: RunStartedDetails?
    /// Target hosts in inventory order.
    public var hostOrder: [String] = []
    /// Each host's part.
    public var hosts: [String: HostRun] = [:]
    /// `run_once` outcomes by step id.
    public var runOnce: [String: RunOnceResult] = [:]
    /// Batches finished `ok`.
    public var finishedBatches: Set<Int> = []
    /// The batch in progress or last started.
    public var batch: Int?
    /// The phase in progress or last started.
    public var phase: RunEvent.Phase?
    /// The rollback's reason once one started (`step-failed`, `interrupted`...).
    public var rollbackReason: String?
    /// The rollback of the whole run finished (`ok` or `incomplete`).
    public var rollbackStatus: String?
    /// What a person must do (the `attentionRequired` messages).
    public var attention: [String] = []
    /// The environment lock is held by this run.
    public var lockHeld = false
    /// What the run was started to override (`window`: `--ignore-window`).
    public var overrides: Set<String> = []
    /// How the run ended, once it did.
    public var result: RunResult?
    /// When it started and ended.
    public var started: Date?
    /// When it ended.
    public var finished: Date?
    /// Times the run was resumed or rolled back from its journal.
    public var recoveries = 0
    /// The newest event's sequence number.
    public var lastSequence: Int64 = 0
    /// Events folded in.
    public var eventCount = 0
    /// How long phases and steps took.
    public var timings = TimingSpans()

    /// An empty state for a run.
    public init(runID: String) { self.runID = runID }

    /// The state after `events`, in order.
    public static func replay(_ events: [RunEvent], runID: String? = nil) -> RunState {
        var state = RunState(runID: runID ?? events.first?.runID ?? "")
        for event in events { state.apply(event) }
        return state
    }

    /// A host's record (an empty one for a host the run does not know).
    public subscript(host: String) -> HostRun { hosts[host] ?? HostRun(name: host) }

    /// The hosts with started steps that are not rolled back, in inventory order.
    public var changedHosts: [String] { hostOrder.filter { hosts[$0]?.isChanged == true } }

    /// Every unfinished step attempt, oldest first, with its host.
    public var openSteps: [(host: String, step: OpenStep)] {
        hostOrder.flatMap { host in (hosts[host]?.open.values.map { (host, $0) }) ?? [] }
            .sorted { ($0.step.sequence ?? 0, $0.host) < ($1.step.sequence ?? 0, $1.host) }
    }

    /// Folds one event in.
    public mutating func apply(_ event: RunEvent) {
        eventCount += 1
        if let sequence = event.sequence { lastSequence = max(lastSequence, sequence) }
        timings.apply(event)
        if let host = event.host, hosts[host] == nil, event.kind != .runStarted {
            hosts[host] = HostRun(name: host)
            if !hostOrder.contains(host) { hostOrder.append(host) }
        }
        switch event.kind {
        case .runStarted:
            started = started ?? event.time
            guard let info = event.runStarted else { break }
            self.info = info
            for name in info.hostList where hosts[name] == nil {
                hosts[name] = HostRun(name: name)
                hostOrder.append(name)
            }
            for (index, batch) in info.batchList.enumerated() {
                for name in batch { hosts[name]?.batch = index + 1 }
            }
        case .lockTaken:
            guard event.status == nil || event.status == "ok" else { break }
            if let host = event.host { hosts[host]?.lockHeld = true } else { lockHeld = true }
        case .lockReleased:
            guard event.status != "failed" else { break }
            if let host = event.host { hosts[host]?.lockHeld = false } else { lockHeld = false }
        case .hostConnected:
            guard let host = event.host else { break }
            update(host) { run in
                run.connected = true
                run.unreachable = false
                run.connection = event.connection ?? run.connection
                if run.state == .unreachable { run.state = run.started.isEmpty ? .unchanged : .changed }
            }
        case .hostUnreachable:
            guard let host = event.host else { break }
            update(host) { run in
                run.connected = false
                run.unreachable = true
                if run.isChanged { run.state = .unreachable }
            }
        case .phaseStarted:
            phase = event.phase
        case .batchStarted:
            batch = event.batch
        case .batchFinished:
            if event.status == "ok", let number = event.batch { finishedBatches.insert(number) }
        case .stepStarted:
            guard let host = event.host, let step = event.step else { break }
            update(host) { run in Self.start(event, step: step, on: &run) }
        case .stepFinished:
            guard let host = event.host, let step = event.step else { break }
            var shared: RunOnceResult?
            update(host) { run in shared = Self.finish(event, step: step, on: &run) }
            if let shared { runOnce[step] = shared }
        case .stepSkipped:
            guard let host = event.host, let step = event.step else { break }
            let details = event.stepDetails
            let sharedResult = details.sharedFrom != nil ? runOnce[step] : nil
            if details.runOnce == true, details.sharedFrom == nil {
                // Skipped by its `when:` on the first host: the others share the skipped result.
                runOnce[step] = .done(RegisteredResult.skipped)
            }
            update(host) { run in
                run.confirmed.insert(step)
                run.lastStep = event.stepName ?? step
                run.lastStatus = .skipped
                if let name = details.register {
                    if details.sharedFrom != nil {
                        if case .done(let value) = sharedResult { run.registered[name] = value }
                    } else {
                        run.registered[name] = RegisteredResult.skipped
                    }
                }
            }
        case .backupRecorded:
            guard let host = event.host, let step = event.step, let backup = event.backup else { break }
            update(host) { $0.archives[step] = backup }
        case .probeRound:
            guard let host = event.host, event.phase == .precheck else { break }
            let baselines = event.probeFigures.baselines
            if !baselines.isEmpty { update(host) { run in run.baselines.merge(baselines) { _, new in new } } }
        case .hostFailed:
            guard let host = event.host else { break }
            update(host) { $0.failure = event.message ?? $0.failure }
        case .rollbackStarted:
            rollbackReason = event.status
            rollbackStatus = nil
            phase = .rollback
        case .rollbackStepStarted:
            guard let host = event.host else { break }
            update(host) { run in
                run.activity = .rollingBack(event.stepName ?? event.step ?? "")
                run.lastStep = event.stepName ?? event.step ?? ""
                if let step = event.step { run.openUndos[step] = event.attempt ?? 1 }
            }
        case .rollbackStepFinished:
            guard let host = event.host else { break }
            update(host) { run in
                run.activity = .idle
                if let step = event.step { run.openUndos[step] = nil }
                if event.status == "ok", let step = event.step { run.undone.insert(step) }
            }
        case .rollbackHostFinished:
            guard let host = event.host, event.status == "ok" else { break }
            let scope = event.rollbackHost ?? RollbackHostDetails(play: nil, notUndone: [])
            update(host) { run in
                // What was actually undone: the started steps (of the play rolled back) whose undo ran to its end.
                let covered = run.started.filter { scope.covers($0.id) }
                run.undoneCount += covered.filter { run.undone.contains($0.id) }.count
                for name in scope.notUndoneList where !run.notUndone.contains(name) { run.notUndone.append(name) }
                run.started.removeAll { scope.covers($0.id) }
                run.confirmed = run.confirmed.filter { !scope.covers($0) }
                run.undone = run.undone.filter { !scope.covers($0) }
                run.openUndos = run.openUndos.filter { !scope.covers($0.key) }
                if !covered.isEmpty && run.started.isEmpty { run.state = .rolledBack }
                run.activity = .idle
            }
        case .rollbackFinished:
            rollbackStatus = event.status
        case .attentionRequired:
            // The store's return is on the record, and nothing is left for a person to do about it.
            if event.status == "store-recovered" { break }
            if let message = event.message { attention.append(message) }
            if let host = event.host { update(host) { $0.state = .needsAttention } }
        case .controllerLost:
            guard let host = event.host, let step = event.step else { break }
            update(host) { run in
                run.open[step] = nil
                run.activity = .idle
            }
        case .runResumed:
            recoveries += 1
            result = nil
            finished = nil
        case .runFinished:
            result = event.runResult ?? .failed
            finished = event.time
            phase = nil
            for host in hostOrder { hosts[host]?.activity = .idle }
        case .windowOverride:
            overrides.insert("window")
        case .windowChecked, .prediction, .escalationChecked, .phaseFinished, .gateAsked, .gateAnswered, .processStopped, .notified:
            break
        }
    }

    private mutating func update(_ host: String, _ change: (inout HostRun) -> Void) {
        var run = hosts[host] ?? HostRun(name: host)
        change(&run)
        hosts[host] = run
    }

    private static func start(_ event: RunEvent, step: String, on run: inout HostRun) {
        let details = event.stepDetails
        run.open[step] = OpenStep(
            id: step, name: event.stepName, phase: event.phase, batch: event.batch, attempt: event.attempt ?? 1,
            sequence: event.sequence, time: event.time, delegateTo: details.delegateTo)
        run.activity = .running(event.stepName ?? step)
        run.lastStep = event.stepName ?? step
        run.lastStatus = nil
        guard event.phase == .backup || event.phase == .deploy else { return }
        if (event.attempt ?? 1) == 1 { run.stepsStarted += 1 }
        if let index = run.started.firstIndex(where: { $0.id == step }) {
            run.started[index].attempts += 1
            run.started[index].command = event.command ?? run.started[index].command
            if let rollback = details.rollback { run.started[index].rollback = rollback }
        } else {
            run.started.append(
                StartedStep(
                    id: step, key: details.key, name: event.stepName ?? step, phase: event.phase ?? .deploy,
                    command: event.command, rollback: details.rollback, onController: details.onController ?? false,
                    delegateTo: details.delegateTo, attempts: 1, confirmed: false))
        }
        if run.state != .needsAttention { run.state = .changed }
    }

    /// Returns the `run_once` outcome to share when this was its final attempt.
    private static func finish(_ event: RunEvent, step: String, on run: inout HostRun) -> RunOnceResult? {
        let details = event.stepDetails
        let ok = event.status == StepStatus.ok.rawValue
        run.open[step] = nil
        run.activity = .idle
        run.lastStep = event.stepName ?? step
        run.lastStatus = event.stepStatus ?? .failed
        if ok { run.confirmed.insert(step) }
        if let index = run.started.firstIndex(where: { $0.id == step }) {
            run.started[index].confirmed = ok
            if let rollback = details.rollback { run.started[index].rollback = rollback }
            if details.notRun == true, run.started[index].attempts == 1 {
                // Its only attempt never ran (sudo refused it): nothing to undo.
                run.started.remove(at: index)
                run.stepsStarted -= 1
                if run.started.isEmpty, run.state == .changed { run.state = .unchanged }
            }
        }
        var value: Value?
        if let name = details.register {
            let registered = RegisteredResult.value(of: event)
            run.registered[name] = registered
            value = registered
        }
        let final = ok || details.final == true
        if final, !ok, details.lost == true, details.ignoreErrors != true {
            run.connected = false
            if run.isChanged { run.state = .unreachable }
        }
        guard details.runOnce == true, final else { return nil }
        if ok || details.ignoreErrors == true { return .done(value ?? RegisteredResult.value(of: event)) }
        return .failed
    }
}
