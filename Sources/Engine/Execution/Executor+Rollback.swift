import Foundation
import Playbook

extension Executor {
    /// Rolls back every changed host after a failure and returns the run's outcome.
    func rollbackAndReport(reason: AbortReason) async -> RunOutcome {
        let detail = abortDetail ?? reason.rawValue
        let changed = state.changedHosts
        let requested = reason == .requested
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
        let clean = await rollbackHosts(changed)
        await emit(event(.rollbackFinished, phase: .rollback, status: clean ? "ok" : "incomplete"))
        if !clean { return await finish(.needsAttention, rollbackRequested: requested, reason: detail) }
        if reason == .interrupted { return await finish(.interrupted, reason: detail) }
        return await finish(.rolledBack, rollbackRequested: requested, reason: detail)
    }

    /// Rolls back hosts in parallel; true when every one is back and healthy.
    func rollbackHosts(_ hosts: [String]) async -> Bool {
        let results = await forEachHost(hosts) { executor, host in await executor.rollbackHost(host) }
        return results.values.allSatisfy { $0 == nil }
    }

    /// Undoes a host's started steps in reverse order, then the playbook's `rollback:` steps, then
    /// confirms health. Returns what a person must fix, or nil.
    func rollbackHost(_ host: String) async -> String? {
        let steps = state[host].started
        if connections[host] == nil || !state[host].connected {
            if let failure = await reconnect(host) {
                let message =
                    "\(host): unreachable for rollback (\(failure)); undo by hand, newest first: "
                    + steps.reversed().map(\.name).joined(separator: ", ")
                await emit(event(.attentionRequired, phase: .rollback, host: host, status: "unreachable", message: message))
                return message
            }
        }
        for started in steps.reversed() {
            if fenced { return "\(host): not rolled back here: another controller took the run over" }
            guard let step = stepsByID[started.id] else {
                return await needsAttention(
                    host, stepID: started.id, name: started.name, "the playbook no longer has this step", command: started.command ?? "",
                    output: "")
            }
            var command: RenderedText?
            if let undo = step.undo {
                do {
                    command = try undo.render(hostContext(host), quoting: .shell)
                } catch {
                    return await needsAttention(host, step, "cannot render its rollback: \(error)", command: undo.source, output: "")
                }
                let redacted = redactedVariables(undo, on: host)
                if !redacted.isEmpty {
                    // The journal keeps secrets out: a value that held one is recorded as ••••, and
                    // a rollback never runs with that in place of the real value.
                    return await needsAttention(
                        host, step,
                        "its rollback needs \(redacted.map { "{{ \($0) }}" }.joined(separator: ", ")), which the timeline holds redacted "
                            + "(a secret was in it); undo it by hand", command: undo.source, output: "")
                }
            } else if case .archive = step.action, let archive = state[host].archives[step.id] {
                let script = ArchiveScripts.restore(
                    path: archive.path, archive: archive.archive, sha256: archive.sha256, bytes: archive.bytes,
                    existed: archive.pathExisted, tag: "\(options.runID)-\(host)-\(step.id)")
                command = RenderedText(text: script, display: "restore \(archive.path) from \(archive.archive)", secrets: [])
            }
            guard let command else { continue }
            // A step's undo runs where the step ran: a `local` step's on the controller.
            let onController = started.onController || { if case .local = step.action { true } else { false } }()
            if let failure = await runRollbackAction(command, host: host, step: step, onController: onController) { return failure }
        }
        for step in play.playbook.rollback {
            let context = hostContext(host)
            if let when = step.when, (try? when.evaluateCondition(context)) == false { continue }
            let command: RenderedText
            switch step.action {
            case .shell(let template):
                guard let rendered = try? template.render(context, quoting: .shell) else {
                    return await needsAttention(host, step, "cannot render", command: template.source, output: "")
                }
                command = rendered
            default:
                // Every action is on the timeline before it is taken, whatever its kind.
                await emit(
                    RunEvent(
                        runID: options.runID, kind: .rollbackStepStarted, phase: .rollback, host: host, step: step.id,
                        stepName: step.name, command: StepDescription.describe(step.action, context), attempt: 1))
                let begin = ContinuousClock.now
                let result = await perform(step, on: host, context: context, phase: .rollback, tag: HostLock.tag(undoing: step.id, attempt: 1))
                await emit(
                    RunEvent(
                        runID: options.runID, kind: .rollbackStepFinished, phase: .rollback, host: host, step: step.id,
                        stepName: step.name, status: result.ok ? "ok" : result.status, exitCode: result.exitCode,
                        command: result.command, message: result.message, stdout: result.stdout, stderr: result.stderr,
                        durationMS: Int(begin.duration(to: .now).seconds * 1000), attempt: 1))
                if !result.ok && !step.ignoreErrors {
                    return await needsAttention(host, step, Self.summary(result), command: result.command, output: result.stderr)
                }
                continue
            }
            if let failure = await runRollbackAction(command, host: host, step: step), !step.ignoreErrors { return failure }
        }
        // Confirm the old version is healthy.
        if let health = play.playbook.health, !steps.isEmpty {
            // Logs count afresh from here: what the changed version wrote is not held against the old one.
            await markLogPositions(health, host: host)
            let failures = await probeRound(health, host: host, batch: nil, phase: .verify)
            if let failure = failures {
                let message = "\(host): rolled back, but the health probes still fail: \(failure)"
                await emit(event(.attentionRequired, phase: .verify, host: host, status: "unhealthy", message: message))
                return message
            }
        }
        let undone = steps.filter { state[host].undone.contains($0.id) }.count
        await emit(
            event(
                .rollbackHostFinished, phase: .rollback, host: host, status: "ok",
                message: undone > 0
                    ? "\(undone) step(s) undone"
                    : "nothing needed undoing (\(steps.count) step(s) started, none with a rollback that had to run)"))
        return nil
    }

    /// Runs one rollback command with retries (on the host, or on the controller); reconnects when
    /// the connection is lost. A restore that refused before touching anything is not retried.
    private func runRollbackAction(_ command: RenderedText, host: String, step: Step, onController: Bool = false) async -> String? {
        var last: StepAttempt?
        for attempt in 1...max(1, options.rollbackAttempts) {
            await emit(
                RunEvent(
                    runID: options.runID, kind: .rollbackStepStarted, phase: .rollback, host: host, step: step.id,
                    stepName: step.name, command: command.display, attempt: attempt))
            let begin = ContinuousClock.now
            var result: StepAttempt
            if onController {
                result = await local(command, timeout: step.timeout ?? .seconds(600))
            } else {
                do {
                    result = try await remote(
                        command, on: host, timeout: step.timeout ?? .seconds(600), tag: HostLock.tag(undoing: step.id, attempt: attempt))
                } catch {
                    result = StepAttempt(ok: false, status: "unreachable", command: command.display, message: "\(error)", lost: true)
                }
            }
            await emit(
                RunEvent(
                    runID: options.runID, kind: .rollbackStepFinished, phase: .rollback, host: host, step: step.id,
                    stepName: step.name, status: result.ok ? "ok" : result.status, exitCode: result.exitCode,
                    command: command.display, message: result.message, stdout: result.stdout, stderr: result.stderr,
                    durationMS: Int(begin.duration(to: .now).seconds * 1000), attempt: attempt))
            if result.ok { return nil }
            last = result
            if case .archive = step.action, result.exitCode == ArchiveScripts.refusedStatus { break }
            if result.lost, let failure = await reconnect(host) {
                return await needsAttention(host, step, "host unreachable: \(failure)", command: command.display, output: "")
            }
            if attempt < options.rollbackAttempts { try? await Task.sleep(for: .milliseconds(500 * attempt)) }
        }
        let output = ((last?.stderr ?? "") + (last?.stdout ?? "")).trimmingCharacters(in: .whitespacesAndNewlines)
        return await needsAttention(host, step, last.map { Self.summary($0) } ?? "failed", command: command.display, output: output)
    }

    private func needsAttention(_ host: String, _ step: Step, _ why: String, command: String, output: String) async -> String {
        await needsAttention(host, stepID: step.id, name: step.name, why, command: command, output: output)
    }

    private func needsAttention(_ host: String, stepID: String, name: String, _ why: String, command: String, output: String)
        async -> String
    {
        let message =
            "\(host): rollback of '\(name)' failed (\(why)); command: \(command)"
            + (output.isEmpty ? "" : "; output: \(String(output.suffix(500)))")
        await emit(
            RunEvent(
                runID: options.runID, kind: .attentionRequired, phase: .rollback, host: host, step: stepID, stepName: name,
                status: "failed", message: message))
        return redactor.redact(message)
    }

    /// The variables of `template` whose value on `host` holds the redaction mark (a registered
    /// result recorded redacted, rebuilt from the journal by a recovery).
    func redactedVariables(_ template: Template, on host: String) -> [String] {
        let context = hostContext(host)
        return template.references.compactMap { reference in
            // Secrets themselves are real values here; only recorded text can hold the mark.
            if case .secret? = context.variables[reference.path.first ?? ""] { return nil }
            guard let value = try? context.lookup(reference.path, at: reference.location),
                value.text(revealingSecrets: true).contains(Value.redactionMark)
            else { return nil }
            return reference.path.joined(separator: ".")
        }
    }

    /// Reconnects with backoff until the deadline; returns the last failure, or nil once connected.
    func reconnect(_ host: String) async -> String? {
        if let connection = connections[host] { await connection.close() }
        connections[host] = nil
        let deadline = ContinuousClock.now.advanced(by: options.reconnectDeadline)
        var delay = Duration.milliseconds(250)
        var failure = "not connected"
        var tries = 0
        while tries < 1000 {
            tries += 1
            guard let failed = await connect(host) else { return nil }
            failure = failed
            if ContinuousClock.now.advanced(by: delay) >= deadline { break }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
        return failure
    }
}
