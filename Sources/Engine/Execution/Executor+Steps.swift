import Foundation
import Playbook
import Sandbox
import SSH

/// The result of one step attempt.
struct StepAttempt: Sendable {
    var ok: Bool
    var status: String
    var exitCode: Int?
    var command: String
    var stdout: String = ""
    var stderr: String = ""
    var omitted: Int = 0
    var message: String?
    var httpStatus: Int?
    /// What an upload or template sent.
    var transfer: (bytes: String, sha256: String)?
    /// The connection is gone (the host counts as unreachable).
    var lost = false
}

extension Executor {
    /// Runs steps in order on one host; returns the failure that stopped it, or nil.
    func runSteps(_ steps: [Step], on host: String, phase fixedPhase: RunEvent.Phase?, batch: Int?) async -> StepFailure? {
        for step in steps {
            if Task.isCancelled || abortReason != nil {
                return abortReason == nil ? StepFailure(.cancelled, host: host, step: step.id, stepName: step.name, message: "cancelled") : nil
            }
            let phase = fixedPhase ?? (step.section == .backup ? .backup : .deploy)
            if let failure = await runStep(step, on: host, phase: phase, batch: batch) {
                if host == play.hosts.first?.name {
                    // The hosts waiting for this host's `run_once` results will not get them.
                    firstHostStopped = true
                    wakeRunOnceWaiters()
                }
                return failure
            }
        }
        return nil
    }

    /// What a step's events record about it (identity, register, options).
    func details(of step: Step) -> StepDetails {
        var details = StepDetails(key: StepIdentity.key(step), register: step.register)
        if step.runOnce { details.runOnce = true }
        if step.ignoreErrors { details.ignoreErrors = true }
        if case .local = step.action { details.onController = true }
        return details
    }

    /// The rollback of a step rendered for a host now, or nil (none, or it cannot render yet).
    func renderedRollback(_ step: Step, on host: String) -> String? {
        guard let undo = step.undo else { return nil }
        return try? undo.render(hostContext(host), quoting: .shell).text
    }

    /// Runs one step with its condition, retries and `until`; returns the failure, or nil.
    func runStep(_ step: Step, on host: String, phase: RunEvent.Phase, batch: Int?) async -> StepFailure? {
        func failure(_ kind: StepFailure.Kind, _ message: String) -> StepFailure {
            StepFailure(kind, host: host, step: step.id, stepName: step.name, message: message)
        }
        if phase != .precheck, state[host].confirmed.contains(step.id) {
            await emit(
                event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: StepStatus.skipped.rawValue,
                      message: "done before the controller was lost"))
            return nil
        }
        var identity = details(of: step)
        if let when = step.when {
            let run: Bool
            do { run = try when.evaluateCondition(hostContext(host)) } catch {
                await emit(
                    event(.stepFinished, phase: phase, batch: batch, host: host, step: step, status: StepStatus.failed.rawValue,
                          message: "when: \(error)", details: RunEvent.details(identity)))
                return failure(.template, "when: \(error)")
            }
            if !run {
                await emit(
                    event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: StepStatus.skipped.rawValue,
                          message: "when: \(when.source) is false", details: RunEvent.details(identity)))
                return nil
            }
        }
        let first = play.hosts.first?.name ?? ""
        if step.runOnce, host != first {
            // The first host of the run runs it; the others wait for its result and share it.
            guard let shared = await runOnceResult(step.id) else {
                return abortReason == nil ? failure(.cancelled, "cancelled") : nil
            }
            guard case .done = shared else {
                return failure(.runOnce, "run_once step did not succeed on \(first)")
            }
            identity.sharedFrom = first
            await emit(
                event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: StepStatus.skipped.rawValue,
                      message: "run_once: ran on \(first)", details: RunEvent.details(identity)))
            return nil
        }
        // A value recorded redacted (a registered output that held a secret, rebuilt by a recovery)
        // never stands in for the real one: not in a command, not in a file.
        let redacted = redactedVariables(of: step, on: host)
        if !redacted.isEmpty {
            let message =
                "needs \(redacted.map { "{{ \($0) }}" }.joined(separator: ", ")), which the timeline holds redacted (a secret was in it); "
                + "nothing was run: finish this step by hand"
            await emit(
                event(.stepFinished, phase: phase, batch: batch, host: host, step: step, status: StepStatus.failed.rawValue, message: message,
                      details: RunEvent.details(identity)))
            return failure(.template, message)
        }
        let attempts = step.retries + 1
        var last: StepAttempt?
        for attempt in 1...attempts {
            if Task.isCancelled && attempt > 1 { break }
            let context = hostContext(host)
            var started = identity
            started.rollback = renderedRollback(step, on: host)
            // Started counts as done for rollback: recorded before the action.
            guard await emit(
                RunEvent(
                    runID: options.runID, kind: .stepStarted, phase: phase, batch: batch, host: host, step: step.id,
                    stepName: step.name, command: StepDescription.describe(step.action, context), attempt: attempt,
                    details: RunEvent.details(started)))
            else { return failure(.journal, "the timeline cannot be written") }
            let begin = ContinuousClock.now
            var result = await perform(step, on: host, context: context, phase: phase, tag: HostLock.tag(step: step.id, attempt: attempt))
            if Task.isCancelled && !result.ok && result.status != StepStatus.timedOut.rawValue {
                result.status = StepStatus.cancelled.rawValue
            }
            let elapsed = begin.duration(to: .now)
            var ok = result.ok
            if ok, let until = step.until {
                // `until` sees this attempt's result under the step's register name.
                var untilContext = context
                if let name = step.register { untilContext.variables[name] = Self.registered(result, attempts: attempt) }
                if !((try? until.evaluateCondition(untilContext)) ?? false) {
                    ok = false
                    result.message = "until: \(until.source) is false"
                }
            }
            let stopping = result.lost || Task.isCancelled || abortReason != nil
            var finished = identity
            finished.failed = step.register == nil ? nil : !result.ok
            finished.httpStatus = result.httpStatus
            finished.bytes = result.transfer?.bytes
            finished.sha256 = result.transfer?.sha256
            finished.final = ok || stopping || attempt == attempts
            if result.lost { finished.lost = true }
            await emit(
                RunEvent(
                    runID: options.runID, kind: .stepFinished, phase: phase, batch: batch, host: host, step: step.id,
                    stepName: step.name, status: ok ? StepStatus.ok.rawValue : result.status == "ok" ? StepStatus.failed.rawValue : result.status,
                    exitCode: result.exitCode, command: result.command, message: result.message, stdout: result.stdout,
                    stderr: result.stderr, outputOmitted: result.omitted > 0 ? result.omitted : nil,
                    durationMS: Int(elapsed.seconds * 1000), attempt: attempt, details: RunEvent.details(finished)))
            last = result
            if ok { return nil }
            if stopping { break }
            if attempt < attempts { try? await Task.sleep(for: step.delay) }
        }
        if step.ignoreErrors { return nil }
        let message = last.map { Self.summary($0) } ?? "failed"
        if last?.lost == true { connections[host] = nil }
        let kind: StepFailure.Kind =
            last?.lost == true ? .unreachable : last?.status == StepStatus.timedOut.rawValue ? .timedOut
            : last?.status == StepStatus.cancelled.rawValue ? .cancelled : .failed
        return failure(kind, message)
    }

    /// The variables a step's templates (and its `template:` file) use whose value on `host` holds
    /// the redaction mark.
    func redactedVariables(of step: Step, on host: String) -> [String] {
        var templates = Validator.templates(of: step.action, step.id).map(\.0)
        if case .template(let transfer) = step.action, transfer.source.isLiteral {
            let source = transfer.source.source
            let path = source.hasPrefix("/") ? source : options.playbookDirectory + "/" + source
            if let data = FileManager.default.contents(atPath: path),
                let file = try? Template.parse(fileText: String(decoding: data, as: UTF8.self), file: path)
            {
                templates.append(file)
            }
        }
        return Array(Set(templates.flatMap { redactedVariables($0, on: host) })).sorted()
    }

    /// Waits for the `run_once` step's outcome on the first host; nil when the run is stopped first.
    func runOnceResult(_ step: String) async -> RunOnceResult? {
        while state.runOnce[step] == nil {
            if Task.isCancelled || abortReason != nil { return nil }
            if firstHostStopped { return .failed }
            await withCheckedContinuation { continuation in runOnceWaiters[step, default: []].append(continuation) }
        }
        return state.runOnce[step]
    }

    /// Resumes the hosts waiting for a `run_once` result (all of them when `step` is nil: the run is stopping).
    func wakeRunOnceWaiters(_ step: String? = nil) {
        let keys = step.map { [$0] } ?? Array(runOnceWaiters.keys)
        for key in keys {
            for waiter in runOnceWaiters[key] ?? [] { waiter.resume() }
            runOnceWaiters[key] = nil
        }
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

    // MARK: actions

    /// Carries out one attempt of an action on a host; `tag` names its remote commands on the host.
    func perform(_ step: Step, on host: String, context: TemplateContext, phase: RunEvent.Phase, tag: String) async -> StepAttempt {
        let timeout = step.timeout ?? options.defaultStepTimeout
        do {
            switch step.action {
            case .shell(let template):
                let command = try template.render(context, quoting: .shell)
                return try await remote(command, on: host, timeout: timeout, tag: tag)
            case .command(let argv):
                let parts = try argv.map { try $0.render(context, quoting: .plain) }
                let command = RenderedText(
                    text: parts.map { ShellQuoting.quote($0.text) }.joined(separator: " "),
                    display: parts.map { ShellQuoting.quote($0.display) }.joined(separator: " "),
                    secrets: parts.flatMap(\.secrets))
                return try await remote(command, on: host, timeout: timeout, tag: tag)
            case .local(let template):
                let command = try template.render(context, quoting: .shell)
                return await local(command, timeout: timeout)
            case .upload(let transfer), .template(let transfer):
                return try await upload(
                    transfer, render: { if case .template = step.action { true } else { false } }(), on: host, context: context, tag: tag)
            case .archive(let archive):
                return try await backup(archive, step: step, on: host, context: context, tag: tag)
            case .http(let http):
                return try await httpCheck(http, on: host, context: context, tag: tag)
            case .tcp(let tcp):
                let target = try tcp.host.map { try $0.render(context, quoting: .plain).text }
                let address = target.flatMap { play.inventory.host(named: $0)?.address } ?? target ?? play.inventory.host(named: host)?.address ?? host
                let description = "tcp \(address):\(tcp.port)"
                do {
                    try await ControllerChecks.tcp(host: address, port: tcp.port, timeout: tcp.timeout)
                    return StepAttempt(ok: true, status: "ok", command: description)
                } catch {
                    return StepAttempt(ok: false, status: "failed", command: description, message: "\(error)")
                }
            case .wait(let wait):
                return try await waitFor(wait, on: host, context: context, tag: tag)
            case .gate:
                return StepAttempt(ok: true, status: "ok", command: "gate")
            }
        } catch let error as TemplateError {
            return StepAttempt(ok: false, status: "failed", command: step.name, message: "template: \(error)")
        } catch let error as TransportError {
            // A lost connection is the host's state; a path or permission error is the step's failure.
            let lost = error.kind == .connectionLost || error.kind == .unreachable
            let user = connections[host]?.summary.user ?? ""
            return StepAttempt(
                ok: false, status: lost ? StepStatus.unreachable.rawValue : StepStatus.failed.rawValue, command: step.name,
                message: lost || user.isEmpty ? error.message : "\(error.message) (as \(user))", lost: lost)
        } catch {
            return StepAttempt(ok: false, status: "failed", command: step.name, message: "\(error)")
        }
    }

    /// Runs a command on a host's open connection. While this run holds the host's lock, the
    /// command runs behind its guard (``HostLock/guarded(_:tag:token:)``): its process group is
    /// recorded on the host under `tag` first, and it refuses to run if another controller holds
    /// the lock now — which fences this controller.
    ///
    /// - Throws: ``TransportError`` when the host is not connected or the connection drops (the
    ///   rollback reconnects; a deploy step fails the host).
    func remote(_ command: RenderedText, on host: String, timeout: Duration, tag: String) async throws -> StepAttempt {
        guard let connection = connections[host] else {
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): not connected")
        }
        if command.text.contains(Value.redactionMark) {
            // A value recorded redacted on the timeline never stands in for the real one.
            return StepAttempt(
                ok: false, status: StepStatus.failed.rawValue, command: command.display,
                message: "refused: the command holds a redacted value (\(Value.redactionMark)) in place of a real one")
        }
        redactor.learn(command.secrets)
        var text = command.text
        if let token, state[host].lockHeld { text = HostLock.guarded(text, tag: tag, token: token, runID: options.runID) }
        let outcome = try await connection.run(text, timeout: timeout, output: nil)
        if outcome.exitCode == HostLock.fencedStatus, outcome.stderrText.contains(HostLock.fencedMarker) {
            abort(.fenced, detail: "\(host) is locked by another controller now")
            return StepAttempt(
                ok: false, status: StepStatus.cancelled.rawValue, exitCode: outcome.exitCode, command: command.display,
                message: "not run: another controller holds the lock on \(host) now")
        }
        let status = outcome.timedOut ? "timed-out" : outcome.succeeded ? "ok" : "failed"
        var message: String?
        if outcome.timedOut { message = "timed out after \(DurationSyntax.format(timeout)); the command was stopped" }
        if let signal = outcome.signal { message = "killed by SIG\(signal)" }
        return StepAttempt(
            ok: outcome.succeeded, status: status, exitCode: outcome.exitCode, command: command.display,
            stdout: outcome.stdoutText, stderr: outcome.stderrText, omitted: outcome.omitted, message: message)
    }

    /// Runs a command on the controller.
    /// Runs a command on the controller, from the playbook's directory. The command goes in a
    /// private file the shell reads, never in argv (which every local user sees in `ps`).
    func local(_ command: RenderedText, timeout: Duration) async -> StepAttempt {
        redactor.learn(command.secrets)
        let directory = options.playbookDirectory
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                do {
                    let folder = try LocalScript.write("cd \(ShellQuoting.quote(directory)) && \(command.text)\n")
                    defer { try? FileManager.default.removeItem(atPath: folder) }
                    let (status, output) = try ChildProcess.run(
                        "/usr/bin/timeout", [String(max(1, Int(timeout.seconds.rounded(.up)))), "/bin/sh", folder + "/script"])
                    continuation.resume(
                        returning: StepAttempt(
                            ok: status == 0, status: status == 124 ? "timed-out" : status == 0 ? "ok" : "failed", exitCode: Int(status),
                            command: "(local) " + command.display, stdout: output))
                } catch {
                    continuation.resume(returning: StepAttempt(ok: false, status: "failed", command: command.display, message: "\(error)"))
                }
            }
            thread.start()
        }
    }

    private func upload(_ transfer: Transfer, render: Bool, on host: String, context: TemplateContext, tag: String) async throws
        -> StepAttempt
    {
        let source = try transfer.source.render(context, quoting: .plain).text
        var destination = try transfer.destination.render(context, quoting: .plain).text
        let display = "\(render ? "render" : "upload") \(source) → \(try transfer.destination.render(context, quoting: .plain).display)"
        if !destination.hasPrefix("/") {
            return StepAttempt(ok: false, status: "failed", command: display, message: "refusing destination '\(destination)': it must be an absolute path")
        }
        if destination.split(separator: "/").contains("..") {
            return StepAttempt(ok: false, status: "failed", command: display, message: "refusing destination '\(destination)': it climbs out with '..'")
        }
        let path = source.hasPrefix("/") ? source : options.playbookDirectory + "/" + source
        guard var data = FileManager.default.contents(atPath: path) else {
            return StepAttempt(ok: false, status: "failed", command: display, message: "cannot read local file \(path)")
        }
        if destination.hasSuffix("/") { destination += URL(fileURLWithPath: source).lastPathComponent }
        if render {
            do {
                let template = try Template.parse(fileText: SourceText.decode(data, file: path).get(), file: path)
                let rendered = try template.render(context, quoting: .plain)
                redactor.learn(rendered.secrets)
                data = Data(rendered.text.utf8)
            } catch let error as PlaybookError {
                return StepAttempt(ok: false, status: "failed", command: display, message: "\(error)")
            }
        }
        guard let connection = connections[host] else {
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): not connected")
        }
        let staged = try await connection.stage(data, beside: destination)
        let (temporary, target) = (ShellQuoting.quote(staged), ShellQuoting.quote(destination))
        let move = "chmod \(String(transfer.mode, radix: 8)) \(temporary) && mv -f \(temporary) \(target) || { rm -f \(temporary); exit 1; }"
        let moved = try await remote(RenderedText(text: move, display: display, secrets: []), on: host, timeout: .seconds(60), tag: tag)
        guard moved.ok else {
            return StepAttempt(
                ok: false, status: moved.status, exitCode: moved.exitCode, command: display, stderr: moved.stderr,
                message: moved.message ?? "moving the upload into place at \(destination): \(moved.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return StepAttempt(ok: true, status: "ok", command: display, transfer: (String(data.count), Digest.sha256Hex(data)))
    }

    private func backup(_ archive: Archive, step: Step, on host: String, context: TemplateContext, tag: String) async throws
        -> StepAttempt
    {
        let path = try archive.path.render(context, quoting: .plain).text
        let destination = try archive.destination.render(context, quoting: .plain).text
        let script = ArchiveScripts.create(path: path, archive: destination)
        let result = try await remote(RenderedText(text: script, display: "archive \(path) → \(destination)", secrets: []), on: host, timeout: step.timeout ?? .seconds(3600), tag: tag)
        if result.ok {
            // Only a finished archive has something to restore: an interrupted one never touched `path`.
            let fields = result.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            let backup = BackupDetails(
                path: path, archive: destination, sha256: fields.first ?? "", bytes: fields.count > 1 ? fields[1] : "",
                existed: fields.count > 2 ? fields[2] : "")
            await emit(
                RunEvent(
                    runID: options.runID, kind: .backupRecorded, phase: .backup, host: host, step: step.id, stepName: step.name,
                    status: "ok", message: "\(path) → \(destination) (\(backup.bytes.isEmpty ? "?" : backup.bytes) bytes)",
                    details: RunEvent.details(backup)))
        }
        return result
    }

    private func httpCheck(_ http: HTTPCheck, on host: String, context: TemplateContext, tag: String) async throws -> StepAttempt {
        let url = try http.url.render(context, quoting: .plain)
        let expected = try http.contains.map { try $0.render(context, quoting: .plain).text }
        let display = "GET \(url.display)"
        var status = 0
        var body = ""
        if http.viaHost {
            // The URL goes to curl in its config on stdin (a here-document of the script), never in
            // argv: a URL can hold a secret, and argv is visible to every user of the host.
            let escaped = url.text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            let command =
                "curl -sS -m \(max(1, Int(http.timeout.seconds.rounded(.up)))) -o - -w '\\n%{http_code}' -K - <<'GOLIVE_CURL_CONFIG'\n"
                + "url = \"\(escaped.replacingOccurrences(of: "\n", with: ""))\"\nGOLIVE_CURL_CONFIG"
            let result = try await remote(RenderedText(text: command, display: display + " (from the host)", secrets: url.secrets), on: host, timeout: http.timeout + .seconds(5), tag: tag)
            var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            status = Int(lines.popLast() ?? "") ?? 0
            body = lines.joined(separator: "\n")
            if status == 0 {
                let why = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                return StepAttempt(
                    ok: false, status: "failed", command: display,
                    message: "request from the host failed: " + (why.isEmpty ? "curl exit \(result.exitCode.map(String.init) ?? "?")" : why))
            }
        } else {
            do {
                let response = try await ControllerChecks.get(url.text, timeout: http.timeout)
                status = response.status
                body = response.body
            } catch {
                return StepAttempt(ok: false, status: "failed", command: display, message: redactor.redact("\(error)"))
            }
        }
        var ok = status == http.status
        var message: String?
        if !ok { message = "HTTP \(status), expected \(http.status)" }
        if ok, let expected, !body.contains(expected) {
            ok = false
            message = "HTTP \(status) but the body does not contain '\(expected)'"
        }
        return StepAttempt(ok: ok, status: ok ? "ok" : "failed", exitCode: nil, command: display, stdout: String(body.prefix(4096)), message: message, httpStatus: status)
    }

    private func waitFor(_ wait: WaitCheck, on host: String, context: TemplateContext, tag: String) async throws -> StepAttempt {
        let check: RenderedText
        switch wait.condition {
        case .port(let port, let target):
            let address = try target.map { try $0.render(context, quoting: .plain).text } ?? "127.0.0.1"
            // The address is an argument of the inner shell, never part of its script.
            let probe = "exec 3<>\"/dev/tcp/$1/$2\""
            check = RenderedText(
                // nc only where there is no bash: its -z means different things across variants.
                text: "if command -v bash >/dev/null 2>&1; then bash -c \(ShellQuoting.quote(probe)) golive-wait \(ShellQuoting.quote(address)) \(port) 2>/dev/null; else nc -z -- \(ShellQuoting.quote(address)) \(port); fi",
                display: "port \(address):\(port) open", secrets: [])
        case .file(let file):
            let path = try file.render(context, quoting: .plain)
            check = RenderedText(
                text: "test -e \(ShellQuoting.quote(path.text))", display: "file \(ShellQuoting.quote(path.display)) exists", secrets: path.secrets)
        case .command(let command):
            check = try command.render(context, quoting: .shell)
        }
        let deadline = ContinuousClock.now.advanced(by: wait.timeout)
        var polls = 0
        var last: StepAttempt?
        while ContinuousClock.now < deadline && !Task.isCancelled && polls < 100_000 {
            polls += 1
            let result = try await remote(check, on: host, timeout: min(wait.timeout, .seconds(60)), tag: tag)
            if result.ok { return StepAttempt(ok: true, status: "ok", command: "wait: \(check.display)", message: "true after \(polls) poll(s)") }
            last = result
            try? await Task.sleep(for: wait.interval)
        }
        return StepAttempt(
            ok: false, status: "timed-out", exitCode: last?.exitCode, command: "wait: \(check.display)",
            stderr: last?.stderr ?? "", message: "still false after \(DurationSyntax.format(wait.timeout)) (\(polls) polls)")
    }
}
