import Foundation
import Playbook
import System

/// Runs one go-live: lock, window, connect, pre-checks, then per batch backups, deploy steps and the
/// health watch; on any failure, rolls back every host that changed.
///
/// Every transition is appended to the journal, and confirmed, before the action it announces. The
/// run's state is ``state``, the fold of those events (``RunState/apply(_:)``): the executor keeps
/// nothing else about the run but its live resources (connections) and its control flow (an abort
/// in progress). Hosts of a batch run in parallel, bounded by `forks`.
public actor Executor {
    let playbook: ValidatedPlaybook
    let transport: any Transport
    let journal: any Journal
    let observer: (any RunObserver)?
    let lock: (any EnvironmentLock)?
    let gates: (any GateAnswerer)?
    /// Where answers to this run's gates are left from other terminals (the store's).
    let mailbox: (any GateMailbox)?
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
    /// The last event's append (and showing): the next one waits for it, so that events reach the
    /// journal, and the console, in their sequence's order though hosts emit them at once.
    var appendTail: Task<(any Error)?, Never>?
    /// The environment lock's fencing token while this run holds it (the hosts' lock directories
    /// carry it too; every remote command checks it first).
    var token: String?
    /// Another controller took the run over, or its lock was released by force: act no more.
    var fenced = false
    /// Hosts waiting for a `run_once` step's result, by step id.
    var runOnceWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// The plays whose first host stopped at a failure: their later `run_once` steps will not run.
    var stoppedFirstHosts: Set<Int> = []
    /// The run keeps its record of the controller's commands (``ControllerRecords``).
    var controllerRecordsHeld = false
    /// The escalations a host refused this run (host and escalation → why): never tried again, so a
    /// wrong password counts one failed attempt, not one per step and undo.
    var escalationRefusals: [String: String] = [:]
    /// A recovery refused before it touched anything (it could not escalate): the run stays as the
    /// lost controller left it — open steps, host locks, no end recorded — for the next recovery.
    var refusedUntouched = false
    /// When the store stopped answering (nil: it answers).
    var storeUnreachableSince: Date?
    /// The spill journal the run's events go to once the store was given up.
    var spillPath: String?
    /// The run's notifications (nil: no targets, or the run has ended).
    var notifier: Notifier?
    var notificationsStarted = false
    /// `late` and `rollback_point_near`, waiting for their time.
    var timedNotifications: [Task<Void, Never>] = []
    /// Once the run's end is recorded, nothing more is (deliveries included).
    var runFinishedRecorded = false
    /// Throttled steps: how many hosts run each now, and the hosts waiting for a slot.
    var throttles: [String: (running: Int, waiting: [CheckedContinuation<Bool, Never>])] = [:]

    /// Creates an executor for one run.
    ///
    /// - Parameters:
    ///   - history: the run's events so far, for a recovery (empty for a new run); the state starts as their fold.
    ///   - stateObserver: called after each event with the state it led to (tests compare it with the journal).
    public init(
        playbook: ValidatedPlaybook, transport: any Transport, journal: any Journal, observer: (any RunObserver)? = nil,
        lock: (any EnvironmentLock)? = nil, gates: (any GateAnswerer)? = nil, mailbox: (any GateMailbox)? = nil, options: RunOptions,
        history: [RunEvent] = [], stateObserver: (@Sendable (RunEvent, RunState) -> Void)? = nil
    ) {
        self.playbook = playbook
        self.transport = transport
        self.journal = journal
        self.observer = observer
        self.lock = lock
        self.gates = gates
        self.mailbox = mailbox
        self.options = options
        self.stateObserver = stateObserver
        redactor = Redactor(
            secrets: playbook.inventory.secrets.values.compactMap { $0.value?.revealForUse() } + [options.becomePassword].compactMap { $0 })
        stepsByID = Dictionary(playbook.playbook.allSteps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let replayed = RunState.replay(history, runID: options.runID)
        state = replayed
        nextSequence = replayed.lastSequence + 1
    }

    var runInfo: [String: Value] {
        [
            "id": .string(options.runID), "kind": .string(options.kind.rawValue),
            "started": .string(Timestamp.seconds(state.started ?? started)), "environment": .string(environment),
            "operator": .string(options.operatorName),
        ]
    }

    /// The window's rules for this run.
    var windowGuard: WindowGuard { WindowGuard(window: playbook.playbook.window, options: options) }

    /// The run is being stopped (or its task cancelled).
    var isStopping: Bool { Task.isCancelled || abortReason != nil }

    /// A task that aborts the run when the window's rollback point is reached.
    func startWindowWatch() -> Task<Void, Never>? {
        windowGuard.watch { [weak self] in await self?.abort(.rollbackPoint, detail: "the window's rollback point was reached") }
    }

    /// `end - max(rollback_reserve, the rehearsed rollback time)`.
    func effectiveRollbackPoint(_ window: Window) -> Date { windowGuard.rollbackPoint(window) }

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
        // Waiting deploy steps give up; a rollback's undos wait on (unless the run is fenced).
        for (step, throttle) in throttles where reason == .fenced || !step.hasPrefix("undo.") {
            for waiter in throttle.waiting { waiter.resume(returning: false) }
            throttles[step]?.waiting = []
        }
    }


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
        if !notificationsStarted { startNotifications() }
        if event.kind == .runFinished { runFinishedRecorded = true }
        var event = event
        event.runID = options.runID
        event.sequence = nextSequence
        nextSequence += 1
        state.apply(event)
        stateObserver?(event, state)
        let stored = redactor.redact(event)
        if !journalBroken {
            let (previous, journal, observer) = (appendTail, journal, observer)
            let append = Task { () -> (any Error)? in
                _ = await previous?.value
                do {
                    try await journal.append(stored)
                    observer?.observe(stored)
                    return nil
                } catch {
                    return error
                }
            }
            appendTail = append
            if let error = await append.value {
                if let fenced = error as? FencedOut {
                    journalBroken = true
                    abort(.fenced, detail: fenced.description)
                    return false
                }
                journalBroken = true
                observer?.observe(
                    RunEvent(
                        runID: options.runID, kind: .attentionRequired,
                        message: "the timeline cannot be written (\(error)); stopping and rolling back"))
                abort(.journalFailed, detail: "\(error)")
                observer?.observe(stored)
                return false
            }
        } else {
            observer?.observe(stored)
        }
        // Told once it is on the record (a notification never runs ahead of the timeline).
        if !journalBroken, let notification = notification(for: stored) { notifier?.send(notification) }
        if event.kind == .stepFinished || event.kind == .stepSkipped, let step = event.step, state.runOnce[step] != nil {
            wakeRunOnceWaiters(step)
        }
        return !journalBroken
    }




    /// Runs the go-live to its end and returns the outcome (exit code and report).
    public func run() async -> RunOutcome {
        await watchStore()
        let schedule = Planner.schedule(playbook)
        guard
            await emit(
                event(
                    .runStarted, message: "\(options.kind.rawValue) of \(playbook.playbook.name) on \(environment)",
                    details: RunEvent.details(startedDetails(schedule: schedule))))
        else {
            return await finish(.failed, reason: "the timeline cannot be written")
        }
        let lease: Task<Void, Never>?
        switch await takeEnvironmentLock(reason: playbook.playbook.name) {
        case .failure(let refusal):
            var outcome = RunOutcome(result: .refused, reason: refusal.description)
            outcome.attention += await finishNotifications(outcome)
            await emit(
                event(
                    .runFinished, status: RunResult.refused.rawValue, message: refusal.description,
                    details: RunEvent.details(RunFinishedDetails(exitCode: 3))))
            return outcome
        case .success(let task):
            lease = task
        }
        let outcome = await runLocked(schedule: schedule)
        lease?.cancel()
        await lease?.value
        return await close(outcome)
    }



    private func runLocked(schedule: [PlannedBatch]) async -> RunOutcome {
        if options.kind == .run || options.kind == .rehearse,
            let refusal = await windowGuard.check(record: { _ = await self.emit($0) }, stopped: { await self.isStopping })
        {
            return RunOutcome(result: .refused, reason: refusal)
        }
        if let refusal = await connectAndLock() { return fenced ? await rollbackAndReport(reason: .fenced) : refusal }
        if let refusal = await runPrechecks(playbook.hosts.map(\.name)) { return refusal }
        if options.kind == .check {
            return RunOutcome(
                result: .succeeded,
                hosts: playbook.hosts.map { HostReport(host: $0.name, state: .unchanged, detail: "pre-checks passed") })
        }
        let watcher = startWindowWatch()
        defer { watcher?.cancel() }
        for batch in schedule where abortReason == nil {
            await runBatch(batch)
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
            let clean = await rollbackPlays()
            return await finish(
                clean ? .rolledBack : .needsAttention, rollbackRequested: true, reason: "rehearsal rolled back on purpose")
        }
        return await finish(.succeeded, reason: nil)
    }










    func forEachHost<R: Sendable>(_ hosts: [String], _ body: @escaping @Sendable (Executor, String) async -> R) async -> [String: R] {
        await Concurrency.forEach(hosts, limit: options.forks, key: { $0 }) { host in await body(self, host) }
    }

    /// A host's template context in a play: its variables, the run's details, its registered results
    /// and (`plays.ID.HOST.NAME`) those of earlier plays' hosts.
    func hostContext(_ host: String, play: Int) -> TemplateContext {
        let snapshot = state
        return playbook.context(
            for: host, play: play, run: runInfo, registered: snapshot[host].registered, results: { snapshot[$0].registered })
    }





}
