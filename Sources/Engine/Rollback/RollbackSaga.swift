import Foundation
import Playbook
import System

/// Putting hosts back: each changed host's started steps undone newest first (its `rollback:`, or
/// the verified restore of its archive), where the step ran (a `local` step's undo on the
/// controller), each undo recorded before it runs and retried, a lost host reconnected; then the
/// playbook's own `rollback:` steps, then a health round to confirm the old version. Whatever it
/// cannot finish becomes an `attentionRequired` event naming the host, the step and the command.
enum RollbackSaga {
    /// Rolls the whole run back: the plays newest first (the web servers, then the database they
    /// were migrated for); within a play, its changed hosts batch by batch, the newest batch first
    /// (``Planner/rollbackBatches(_:changed:)``: the deploy's `serial`, or `rollback_serial`), each
    /// batch's health confirmed before the next is touched. True when every host is back and healthy.
    ///
    /// A play whose hosts are not all back holds the plays before it: they are undone after it
    /// because it depends on them (the web servers still on the new release need the migrated
    /// database), so they are left as they are, named on the timeline, for `golive rollback RUN`
    /// to finish once those hosts are fixed.
    static func rollbackPlays(in run: isolated any RunControl) async -> Bool {
        var clean = true
        let named = run.playbook.playbook.hasPlayList
        let plays = Array(run.playbook.plays.reversed())
        for (position, play) in plays.enumerated() {
            let index = play.play.index
            let changed = changedHosts(of: index, in: run)
            guard !changed.isEmpty else { continue }
            let groups = Planner.rollbackBatches(play, changed: changed)
            var notBack: [String] = []
            for (number, group) in groups.enumerated() {
                if run.fenced { return false }
                let label = (named ? "play \(play.play.id ?? ""), " : "") + "rollback batch \(number + 1) of \(groups.count)"
                await run.emit(run.event(.phaseStarted, phase: .rollback, message: "\(label): \(group.joined(separator: ", "))"))
                let failed = await unfinishedHosts(group, play: index, in: run)
                await run.emit(run.event(.phaseFinished, phase: .rollback, status: failed.isEmpty ? "ok" : "incomplete", message: label))
                notBack += failed
            }
            guard !notBack.isEmpty else { continue }
            clean = false
            let held = plays[(position + 1)...].compactMap { earlier -> String? in
                let hosts = changedHosts(of: earlier.play.index, in: run)
                return hosts.isEmpty ? nil : "play \(earlier.play.id ?? String(earlier.play.index + 1)) (\(hosts.joined(separator: ", ")))"
            }
            if !held.isEmpty {
                let message =
                    "not rolled back: \(held.joined(separator: ", ")) — the plays before \(play.play.id.map { "play \($0)" } ?? "this one") are undone "
                    + "only once all its hosts are back, and \(notBack.sorted().joined(separator: ", ")) are not; "
                    + "when they are, finish with: golive rollback \(run.options.runID)"
                await run.emit(run.event(.attentionRequired, phase: .rollback, status: "held", message: message))
                return false
            }
        }
        return clean
    }

    /// Rolls back hosts' steps of one play in parallel (at most `forks` at once); true when every
    /// one is back and healthy.
    static func rollbackHosts(_ hosts: [String], play: Int, in run: isolated any RunControl) async -> Bool {
        await unfinishedHosts(hosts, play: play, in: run).isEmpty
    }

    /// Rolls back hosts' steps of one play in parallel (at most `forks` at once); returns the hosts
    /// that are not back and healthy.
    static func unfinishedHosts(_ hosts: [String], play: Int, in run: isolated any RunControl) async -> [String] {
        let results = await run.eachHost(hosts) { host in await rollbackHost(host, play: play, in: run) }
        return results.filter { $0.value != nil }.map(\.key).sorted()
    }

    /// The changed hosts with started steps in a play: the ones its rollback undoes.
    static func changedHosts(of play: Int, in run: isolated any RunControl) -> [String] {
        run.state.changedHosts.filter { !steps(of: $0, play: play, in: run).isEmpty }
    }

    /// A host's started steps that belong to a play, in the order they started. A step the playbook
    /// no longer has is counted in the last play the host is in (rolled back first).
    static func steps(of host: String, play: Int, in run: isolated any RunControl) -> [StartedStep] {
        let last = run.playbook.plays.last { $0.hostNames.contains(host) }?.play.index ?? 0
        return run.state[host].started.filter { (run.stepsByID[$0.id]?.play ?? last) == play }
    }

    /// Undoes a host's started steps of a play in reverse order, then the play's `rollback:` steps,
    /// then confirms health. Returns what a person must fix, or nil.
    static func rollbackHost(_ host: String, play: Int, in run: isolated any RunControl) async -> String? {
        let steps = steps(of: host, play: play, in: run)
        let playInfo = run.playbook.plays[play].play
        var notUndone: [String] = []
        if run.connection(to: host) == nil || !run.state[host].connected {
            if let failure = await run.reconnect(host) {
                let message =
                    "\(host): unreachable for rollback (\(failure)); undo by hand, newest first: "
                    + steps.reversed().map(\.name).joined(separator: ", ")
                await run.emit(run.event(.attentionRequired, phase: .rollback, host: host, status: "unreachable", message: message))
                return message
            }
            // What ran when the connection dropped may run on: stopped before anything is undone.
            var left: [String: Escalation?] = [:]
            for started in steps where !started.onController && started.delegateTo == nil {
                let escalation = run.stepsByID[started.id].flatMap { run.escalation(for: $0, on: host) }
                left[HostLock.tag(step: started.id, attempt: max(1, started.attempts))] = escalation
            }
            await HostLocks.stopLeftRunning(left, on: host, in: run)
        }
        for started in steps.reversed() {
            if run.fenced { return "\(host): not rolled back here: another controller took the run over" }
            // Undone already (a recovery of a rollback that got this far): not run twice.
            if run.state[host].undone.contains(started.id) { continue }
            let context = run.hostContext(host, play: play)
            guard let step = run.stepsByID[started.id] else {
                return await needsAttention(in: run, 
                    host, stepID: started.id, name: started.name, "the playbook no longer has this step", command: started.command ?? "",
                    output: "")
            }
            var command: RenderedText?
            if let undo = step.undo {
                do {
                    command = try undo.render(context, quoting: .shell)
                } catch {
                    return await needsAttention(in: run, host, step, "cannot render its rollback: \(error)", command: undo.source, output: "")
                }
                let redacted = redactedVariables(undo, on: host, play: play, in: run)
                if !redacted.isEmpty {
                    // The journal keeps secrets out: a value that held one is recorded as ••••, and
                    // a rollback never runs with that in place of the real value.
                    return await needsAttention(in: run, 
                        host, step,
                        "its rollback needs \(redacted.map { "{{ \($0) }}" }.joined(separator: ", ")), which the timeline holds redacted "
                            + "(a secret was in it); undo it by hand", command: undo.source, output: "")
                }
            } else if case .archive = step.action, let archive = run.state[host].archives[step.id] {
                let script = ArchiveScripts.restore(
                    path: archive.path, archive: archive.archive, sha256: archive.sha256, bytes: archive.bytes,
                    existed: archive.pathExisted, tag: "\(run.options.runID)-\(host)-\(step.id)")
                command = RenderedText(text: script, display: "restore \(archive.path) from \(archive.archive)", secrets: [])
            }
            guard let command else {
                // Nothing undoes it: said, so "rolled back" never claims more than was done. An
                // upload or template inside a path an archive of this host restores is undone by it.
                // Backups change nothing a rollback must put back (an unfinished archive never touched its path).
                if step.section == .deploy && !step.nothingToUndo && !step.undoneByBackup && step.changesSomething
                    && !restoredByArchive(step, on: host, play: play, in: run)
                {
                    notUndone.append(step.name)
                }
                continue
            }
            // A step's undo runs where the step ran: a `local` step's (or one delegated to the
            // controller) on the controller, a delegated step's on the host it was delegated to.
            let onController = started.onController || step.runsOnController
            let place = started.delegateTo ?? step.delegate?.hostName
            if let failure = await runRollbackAction(
                command, host: host, step: step, onController: onController, delegatedTo: place, in: run)
            {
                return failure
            }
        }
        for step in playInfo.rollback {
            let context = run.hostContext(host, play: play)
            if let when = step.when, (try? when.evaluateCondition(context)) == false { continue }
            let command: RenderedText
            switch step.action {
            case .shell(let template):
                guard let rendered = try? template.render(context, quoting: .shell) else {
                    return await needsAttention(in: run, host, step, "cannot render", command: template.source, output: "")
                }
                command = rendered
            default:
                // Every action is on the timeline before it is taken, whatever its kind.
                await run.emit(
                    RunEvent(
                        runID: run.options.runID, kind: .rollbackStepStarted, phase: .rollback, host: host, step: step.id,
                        stepName: step.name, command: StepDescription.describe(step.action, context), attempt: 1))
                let begin = ContinuousClock.now
                let behalf = step.delegate != nil || step.runsOnController ? host : nil
                let result = await StepActions.place(of: step, for: host, in: run).perform(
                    step, context: context, phase: .rollback, tag: HostLock.tag(undoing: step.id, attempt: 1, for: behalf), in: run)
                await run.emit(
                    RunEvent(
                        runID: run.options.runID, kind: .rollbackStepFinished, phase: .rollback, host: host, step: step.id,
                        stepName: step.name, status: result.ok ? "ok" : result.status, exitCode: result.exitCode,
                        command: result.command, message: result.message, stdout: result.stdout, stderr: result.stderr,
                        durationMS: Int(begin.duration(to: .now).seconds * 1000), attempt: 1))
                if !result.ok && !step.ignoreErrors {
                    return await needsAttention(in: run, host, step, StepRunner.summary(result), command: result.command, output: result.stderr)
                }
                continue
            }
            if let failure = await runRollbackAction(
                command, host: host, step: step, onController: step.runsOnController, delegatedTo: step.delegate?.hostName, in: run),
                !step.ignoreErrors
            {
                return failure
            }
        }
        // Confirm the old version is healthy.
        if let health = playInfo.health, !steps.isEmpty {
            // Logs count afresh from here: what the changed version wrote is not held against the old one.
            await HealthWatch(health: health, play: play).markLogPositions(host: host, in: run)
            let failures = await HealthWatch(health: health, play: play).probeRound(host: host, batch: nil, phase: .verify, in: run)
            if let failure = failures {
                let message = "\(host): rolled back, but the health probes still fail: \(failure)"
                await run.emit(run.event(.attentionRequired, phase: .verify, host: host, status: "unhealthy", message: message))
                return message
            }
        }
        let undone = steps.filter { run.state[host].undone.contains($0.id) }.count
        let unsaid = notUndone.isEmpty ? "" : "; not undone (nothing undoes them): " + notUndone.map { "'\($0)'" }.joined(separator: ", ")
        await run.emit(
            run.event(
                .rollbackHostFinished, phase: .rollback, host: host, status: "ok",
                message: (undone > 0
                    ? "\(undone) step(s) undone"
                    : "nothing needed undoing (\(steps.count) step(s) started, none with a rollback that had to run)") + unsaid,
                details: RunEvent.details(RollbackHostDetails(play: run.playbook.playbook.hasPlayList ? playInfo.id : nil, notUndone: notUndone))))
        return nil
    }

    /// An upload or template (not delegated) whose destination lies inside a path one of this
    /// host's recorded archives of the play restores.
    static func restoredByArchive(_ step: Step, on host: String, play: Int, in run: isolated any RunControl) -> Bool {
        guard step.delegate == nil else { return false }
        let transfer: Transfer
        switch step.action {
        case .upload(let value), .template(let value): transfer = value
        default: return false
        }
        let archived = run.state[host].archives.filter { run.stepsByID[$0.key]?.play == play }.map(\.value.path)
        guard !archived.isEmpty, let destination = try? transfer.destination.render(run.hostContext(host, play: play), quoting: .plain).text
        else { return false }
        return UndoCoverage.inside(destination, archived: archived)
    }

    /// Runs one rollback command with retries (on the host, or on the controller); reconnects when
    /// the connection is lost. A restore that refused before touching anything is not retried.
    static func runRollbackAction(
        _ command: RenderedText, host: String, step: Step, onController: Bool = false, delegatedTo place: String? = nil,
        in run: isolated any RunControl
    ) async -> String? {
        // A throttled step's undo is bounded as the step was.
        var holdsSlot = false
        if let limit = step.throttle {
            guard await run.acquire("undo." + step.id, limit: limit, inRollback: true) else {
                return await needsAttention(in: run, host, step, "not run: another controller took the run over", command: command.display, output: "")
            }
            holdsSlot = true
        }
        defer { if holdsSlot { run.release("undo." + step.id) } }
        var last: StepAttempt?
        let become = onController ? nil : run.escalation(for: step, on: host)
        for attempt in 1...max(1, run.options.rollbackAttempts) {
            await run.emit(
                RunEvent(
                    runID: run.options.runID, kind: .rollbackStepStarted, phase: .rollback, host: host, step: step.id,
                    stepName: step.name,
                    command: (place.map { "(on \($0)) " } ?? "") + StepDescription.privilege(become?.description)
                        + command.display, attempt: attempt))
            let begin = ContinuousClock.now
            var result: StepAttempt
            if onController {
                result = await StepActions.local(
                    command, timeout: step.timeout ?? .seconds(600), tag: HostLock.tag(undoing: step.id, attempt: attempt, for: host), in: run)
            } else {
                do {
                    var actions = StepActions(host: place ?? host, behalfOf: place == nil ? nil : host)
                    actions.become = become
                    result = try await actions.remote(
                        command, timeout: step.timeout ?? .seconds(600),
                        tag: HostLock.tag(undoing: step.id, attempt: attempt, for: place == nil ? nil : host), in: run)
                } catch {
                    result = StepAttempt(ok: false, status: "unreachable", command: command.display, message: "\(error)", lost: true)
                }
            }
            await run.emit(
                RunEvent(
                    runID: run.options.runID, kind: .rollbackStepFinished, phase: .rollback, host: host, step: step.id,
                    stepName: step.name, status: result.ok ? "ok" : result.status, exitCode: result.exitCode,
                    command: command.display, message: result.message, stdout: result.stdout, stderr: result.stderr,
                    durationMS: Int(begin.duration(to: .now).seconds * 1000), attempt: attempt))
            if result.ok { return nil }
            last = result
            if case .archive = step.action, result.exitCode == ArchiveScripts.refusedStatus { break }
            // A refused escalation is not asked again (each try counts as a failed password).
            if result.escalationFailed { break }
            if result.lost, let place { run.dropDelegatedConnection(to: place, for: host) }
            if result.lost, let failure = await run.reconnect(place ?? host) {
                return await needsAttention(in: run, host, step, "host unreachable: \(failure)", command: command.display, output: "")
            }
            if result.lost, !onController {
                // The undo the dropped connection ran may run on: stopped before it is tried again.
                let tag = HostLock.tag(undoing: step.id, attempt: attempt, for: place == nil ? nil : host)
                await HostLocks.stopLeftRunning([tag: become], on: place ?? host, in: run)
            }
            if attempt < run.options.rollbackAttempts { try? await Task.sleep(for: .milliseconds(500 * attempt)) }
        }
        let output = ((last?.stderr ?? "") + (last?.stdout ?? "")).trimmingCharacters(in: .whitespacesAndNewlines)
        return await needsAttention(in: run, host, step, last.map { StepRunner.summary($0) } ?? "failed", command: command.display, output: output)
    }

    static func needsAttention(
        in run: isolated any RunControl, _ host: String, _ step: Step, _ why: String, command: String, output: String
    ) async -> String {
        await needsAttention(in: run, host, stepID: step.id, name: step.name, why, command: command, output: output)
    }

    static func needsAttention(
        in run: isolated any RunControl, _ host: String, stepID: String, name: String, _ why: String, command: String, output: String
    )
        async -> String
    {
        let message =
            "\(host): rollback of '\(name)' failed (\(why)); command: \(command)"
            + (output.isEmpty ? "" : "; output: \(String(output.suffix(500)))")
        await run.emit(
            RunEvent(
                runID: run.options.runID, kind: .attentionRequired, phase: .rollback, host: host, step: stepID, stepName: name,
                status: "failed", message: message))
        return run.redact(message)
    }

    /// The variables of `template` whose value on `host` holds the redaction mark (a registered
    /// result recorded redacted, rebuilt from the journal by a recovery).
    static func redactedVariables(_ template: Template, on host: String, play: Int, in run: isolated any RunControl) -> [String] {
        let context = run.hostContext(host, play: play)
        return template.references.compactMap { reference in
            // Secrets themselves are real values here; only recorded text can hold the mark.
            if case .secret? = context.variables[reference.path.first ?? ""] { return nil }
            guard let value = try? context.lookup(reference.path, at: reference.location),
                value.text(revealingSecrets: true).contains(Value.redactionMark)
            else { return nil }
            return reference.path.joined(separator: ".")
        }
    }
}
