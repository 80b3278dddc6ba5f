import Foundation
import Playbook
import System

/// One step on one host, the way the playbook asks for it: skipped when done before the controller
/// was lost or when `when:` is false, shared from the first host for `run_once`, refused when a value
/// it needs was recorded redacted, then attempted (``StepActions``) with `retries`, `delay` and
/// `until`, each attempt recorded (`stepStarted` before it, `stepFinished` after) and its result
/// registered. "What happens when a step fails" is here: the failure it returns stops the host.
enum StepRunner {
    /// Runs steps in order on one host; returns the failure that stopped it, or nil.
    static func runSteps(
        _ steps: [Step], on host: String, phase fixedPhase: RunEvent.Phase?, batch: Int?, in run: isolated any RunControl
    ) async -> StepFailure? {
        for step in steps {
            if Task.isCancelled || run.abortReason != nil {
                return run.abortReason == nil ? StepFailure(.cancelled, host: host, step: step.id, stepName: step.name, message: "cancelled") : nil
            }
            let phase = fixedPhase ?? (step.section == .backup ? .backup : .deploy)
            if let failure = await runStep(step, on: host, phase: phase, batch: batch, in: run) {
                if host == run.playbook.play(of: step).hosts.first?.name {
                    // The hosts waiting for this host's `run_once` results will not get them.
                    run.firstHostStopped(play: step.play)
                }
                return failure
            }
        }
        return nil
    }

    /// What a step's events record about it (identity, register, options).
    static func details(of step: Step) -> StepDetails {
        var details = StepDetails(key: StepIdentity.key(step), register: step.register)
        if step.runOnce { details.runOnce = true }
        if step.ignoreErrors { details.ignoreErrors = true }
        if step.runsOnController { details.onController = true }
        details.delegateTo = step.delegate?.hostName
        return details
    }

    /// The rollback of a step rendered for a host now, or nil (none, or it cannot render yet).
    static func renderedRollback(_ step: Step, on host: String, in run: isolated any RunControl) -> String? {
        guard let undo = step.undo else { return nil }
        return try? undo.render(run.hostContext(host, for: step), quoting: .shell).text
    }

    /// Runs one step with its condition, retries and `until`; returns the failure, or nil.
    static func runStep(
        _ step: Step, on host: String, phase: RunEvent.Phase, batch: Int?, in run: isolated any RunControl
    ) async -> StepFailure? {
        func failure(_ kind: StepFailure.Kind, _ message: String) -> StepFailure {
            StepFailure(kind, host: host, step: step.id, stepName: step.name, message: message)
        }
        if phase != .precheck, run.state[host].confirmed.contains(step.id) {
            await run.emit(
                run.event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: StepStatus.skipped.rawValue,
                      message: "done before the controller was lost"))
            return nil
        }
        var identity = details(of: step)
        // A host the inventory puts on the controller (`connection: local`) runs its steps there.
        if run.playbook.inventory.host(named: step.delegate?.hostName ?? host)?.ssh.connection == .local { identity.onController = true }
        if let when = step.when {
            let holds: Bool
            do { holds = try when.evaluateCondition(run.hostContext(host, for: step)) } catch {
                await run.emit(
                    run.event(.stepFinished, phase: phase, batch: batch, host: host, step: step, status: StepStatus.failed.rawValue,
                          message: "when: \(error)", details: RunEvent.details(identity)))
                return failure(.template, "when: \(error)")
            }
            if !holds {
                await run.emit(
                    run.event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: StepStatus.skipped.rawValue,
                          message: "when: \(when.source) is false", details: RunEvent.details(identity)))
                return nil
            }
        }
        let first = run.playbook.play(of: step).hosts.first?.name ?? ""
        if step.runOnce, host != first {
            // The first host of the run runs it; the others wait for its result and share it.
            guard let shared = await run.runOnceResult(step.id) else {
                return run.abortReason == nil ? failure(.cancelled, "cancelled") : nil
            }
            guard case .done = shared else {
                return failure(.runOnce, "run_once step did not succeed on \(first)")
            }
            identity.sharedFrom = first
            await run.emit(
                run.event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: StepStatus.skipped.rawValue,
                      message: "run_once: ran on \(first)", details: RunEvent.details(identity)))
            return nil
        }
        // A value recorded redacted (a registered output that held a secret, rebuilt by a recovery)
        // never stands in for the real one: not in a command, not in a file.
        let redacted = redactedVariables(of: step, on: host, in: run)
        if !redacted.isEmpty {
            let message =
                "needs \(redacted.map { "{{ \($0) }}" }.joined(separator: ", ")), which the timeline holds redacted (a secret was in it); "
                + "nothing was run: finish this step by hand"
            await run.emit(
                run.event(.stepFinished, phase: phase, batch: batch, host: host, step: step, status: StepStatus.failed.rawValue, message: message,
                      details: RunEvent.details(identity)))
            return failure(.template, message)
        }
        // `throttle:` bounds how many hosts run the step at once (two batches' drains on one balancer).
        var holdsSlot = false
        if let limit = step.throttle {
            guard await run.acquire(step.id, limit: limit, inRollback: false) else { return run.abortReason == nil ? failure(.cancelled, "cancelled") : nil }
            holdsSlot = true
        }
        defer { if holdsSlot { run.release(step.id) } }
        let place = StepActions.place(of: step, for: host, in: run)
        let delegated = step.delegate?.hostName
        // A step that runs elsewhere than its host (delegated, or on the controller) is tagged with its host.
        let behalf = delegated != nil || step.runsOnController ? host : nil
        let attempts = step.retries + 1
        var last: StepAttempt?
        for attempt in 1...attempts {
            if Task.isCancelled && attempt > 1 { break }
            let context = run.hostContext(host, for: step)
            var started = identity
            started.rollback = renderedRollback(step, on: host, in: run)
            started.become = place.become?.who(login: run.connection(to: place.host)?.summary.user ?? "")
            // Started counts as done for rollback: recorded before the action.
            guard await run.emit(
                RunEvent(
                    runID: run.options.runID, kind: .stepStarted, phase: phase, batch: batch, host: host, step: step.id,
                    stepName: step.name,
                    command: StepDescription.where(step) + StepDescription.privilege(place.become?.description)
                        + StepDescription.describe(step.action, context),
                    attempt: attempt, details: RunEvent.details(started)))
            else { return failure(.journal, "the timeline cannot be written") }
            let begin = ContinuousClock.now
            var result = await place.perform(
                step, context: context, phase: phase, tag: HostLock.tag(step: step.id, attempt: attempt, for: behalf),
                in: run)
            if Task.isCancelled && !result.ok && result.status != StepStatus.timedOut.rawValue {
                result.status = StepStatus.cancelled.rawValue
            }
            let elapsed = begin.duration(to: .now)
            var ok = result.ok
            if ok, let until = step.until {
                // `until` sees this attempt's result under the step's register name.
                var untilContext = context
                if let name = step.register { untilContext.variables[name] = registered(result, attempts: attempt) }
                if !((try? until.evaluateCondition(untilContext)) ?? false) {
                    ok = false
                    result.message = "until: \(until.source) is false"
                }
            }
            let stopping = result.lost || Task.isCancelled || run.abortReason != nil
            var finished = identity
            finished.failed = step.register == nil ? nil : !result.ok
            finished.httpStatus = result.httpStatus
            finished.bytes = result.transfer?.bytes
            finished.sha256 = result.transfer?.sha256
            finished.final = ok || stopping || attempt == attempts
            // A lost connection to the host a step is delegated to is that host's, not this one's.
            if result.lost && delegated == nil { finished.lost = true }
            if result.escalationFailed { finished.notRun = true }
            await run.emit(
                RunEvent(
                    runID: run.options.runID, kind: .stepFinished, phase: phase, batch: batch, host: host, step: step.id,
                    stepName: step.name, status: ok ? StepStatus.ok.rawValue : result.status == "ok" ? StepStatus.failed.rawValue : result.status,
                    exitCode: result.exitCode, command: result.command, message: result.message, stdout: result.stdout,
                    stderr: result.stderr, outputOmitted: result.omitted > 0 ? result.omitted : nil,
                    durationMS: Int(elapsed.seconds * 1000), attempt: attempt, details: RunEvent.details(finished)))
            last = result
            if ok { return nil }
            if stopping || result.escalationFailed { break }
            if attempt < attempts { try? await Task.sleep(for: step.delay) }
        }
        if step.ignoreErrors { return nil }
        let message = last.map { summary($0) } ?? "failed"
        if last?.lost == true {
            if let delegated { run.dropDelegatedConnection(to: delegated, for: host) } else { run.dropConnection(host) }
        }
        let kind: StepFailure.Kind =
            last?.lost == true ? .unreachable : last?.status == StepStatus.timedOut.rawValue ? .timedOut
            : last?.status == StepStatus.cancelled.rawValue ? .cancelled : .failed
        return failure(kind, message)
    }

    /// The variables a step's templates (and its `template:` file) use whose value on `host` holds
    /// the redaction mark.
    static func redactedVariables(of step: Step, on host: String, in run: isolated any RunControl) -> [String] {
        var templates = Validator.templates(of: step.action, step.id).map(\.0)
        if case .template(let transfer) = step.action, transfer.source.isLiteral {
            let source = transfer.source.source
            let path = source.hasPrefix("/") ? source : run.options.playbookDirectory + "/" + source
            if let data = FileManager.default.contents(atPath: path),
                let file = try? Template.parse(fileData: data, file: path)
            {
                templates.append(file)
            }
        }
        return Array(Set(templates.flatMap { RollbackSaga.redactedVariables($0, on: host, play: step.play, in: run) })).sorted()
    }

    static func summary(_ attempt: StepAttempt) -> String {
        if let message = attempt.message { return message }
        if attempt.status == StepStatus.timedOut.rawValue { return "timed out" }
        if let code = attempt.exitCode {
            let detail = attempt.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
            return "exit \(code)" + (detail.isEmpty ? "" : ": \(detail)")
        }
        return attempt.status
    }

    /// What `register:` would store for an attempt (the fold stores the same from its event).
    static func registered(_ attempt: StepAttempt, attempts: Int) -> Value {
        RegisteredResult.value(
            stdout: attempt.stdout, stderr: attempt.stderr, exitCode: attempt.exitCode, failed: !attempt.ok,
            httpStatus: attempt.httpStatus, attempts: attempts)
    }
}
