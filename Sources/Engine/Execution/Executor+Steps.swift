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
    var details: [String: String]?
    /// The connection is gone (the host counts as unreachable).
    var lost = false
}

extension Executor {
    /// Runs steps in order on one host; returns the failure that stopped it, or nil.
    func runSteps(_ steps: [Step], on host: String, phase fixedPhase: RunEvent.Phase?, batch: Int?) async -> String? {
        for step in steps {
            if Task.isCancelled || abortReason != nil { return abortReason == nil ? "cancelled" : nil }
            let phase = fixedPhase ?? (step.section == .backup ? .backup : .deploy)
            if let failure = await runStep(step, on: host, phase: phase, batch: batch) { return failure }
        }
        return nil
    }

    /// Runs one step with its condition, retries and `until`; returns the failure, or nil.
    func runStep(_ step: Step, on host: String, phase: RunEvent.Phase, batch: Int?) async -> String? {
        if confirmedSteps[host]?.contains(step.id) == true {
            await emit(
                event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: "skipped",
                      message: "done before the controller was lost"))
            return nil
        }
        var context = play.context(for: host, run: runInfo, registered: registered[host] ?? [:])
        if let when = step.when {
            let run: Bool
            do { run = try when.evaluateCondition(context) } catch {
                return await fail(step, host, phase, batch, "when: \(error)")
            }
            if !run {
                await emit(event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: "skipped", message: "when: \(when.source) is false"))
                if let name = step.register { registered[host, default: [:]][name] = Self.result(nil, skipped: true) }
                return nil
            }
        }
        if step.runOnce, host != play.hosts.first?.name {
            // The first host of the run runs it; the others wait for its result and share it.
            var waited = 0
            while runOnceResults[step.id] == nil && !runOnceFailed.contains(step.id) && waited < 360_000 {
                if Task.isCancelled || abortReason != nil { return abortReason == nil ? "cancelled" : nil }
                try? await Task.sleep(for: .milliseconds(50))
                waited += 50
            }
            guard let result = runOnceResults[step.id] else {
                return "\(step.name): run_once step did not succeed on \(play.hosts.first?.name ?? "the first host")"
            }
            await emit(event(.stepSkipped, phase: phase, batch: batch, host: host, step: step, status: "skipped", message: "run_once: ran on \(play.hosts.first?.name ?? "")"))
            if let register = step.register { registered[host, default: [:]][register] = result }
            return nil
        }
        if phase == .backup || phase == .deploy {
            // Started counts as done for rollback: record it before the action.
            startedSteps[host, default: []].append(step)
        }
        let attempts = step.retries + 1
        var last: StepAttempt?
        for attempt in 1...attempts {
            if Task.isCancelled && attempt > 1 { break }
            context = play.context(for: host, run: runInfo, registered: registered[host] ?? [:])
            let preview = StepDescription.describe(step.action, context)
            guard await emit(
                RunEvent(
                    runID: options.runID, kind: .stepStarted, phase: phase, batch: batch, host: host, step: step.id,
                    stepName: step.name, command: preview, attempt: attempt))
            else { return "the timeline cannot be written" }
            let begin = ContinuousClock.now
            var result = await perform(step, on: host, context: context, phase: phase)
            if Task.isCancelled && !result.ok && result.status != "timed-out" { result.status = "cancelled" }
            let elapsed = begin.duration(to: .now)
            if let name = step.register {
                let value = Self.result(result, skipped: false, attempts: attempt)
                registered[host, default: [:]][name] = value
            }
            var ok = result.ok
            if ok, let until = step.until {
                let ready = (try? until.evaluateCondition(play.context(for: host, run: runInfo, registered: registered[host] ?? [:]))) ?? false
                if !ready {
                    ok = false
                    result.message = "until: \(until.source) is false"
                }
            }
            await emit(
                RunEvent(
                    runID: options.runID, kind: .stepFinished, phase: phase, batch: batch, host: host, step: step.id,
                    stepName: step.name, status: ok ? "ok" : result.status == "ok" ? "failed" : result.status,
                    exitCode: result.exitCode, command: result.command, message: result.message, stdout: result.stdout,
                    stderr: result.stderr, outputOmitted: result.omitted > 0 ? result.omitted : nil,
                    durationMS: Int(elapsed.seconds * 1000), attempt: attempt, details: result.details))
            last = result
            if ok {
                if step.runOnce { runOnceResults[step.id] = Self.result(result, skipped: false, attempts: attempt) }
                return nil
            }
            if result.lost || Task.isCancelled || abortReason != nil { break }
            if attempt < attempts { try? await Task.sleep(for: step.delay) }
        }
        let reason = "\(step.name): " + (last.map { Self.summary($0) } ?? "failed")
        if step.runOnce {
            if step.ignoreErrors, let last { runOnceResults[step.id] = Self.result(last, skipped: false, attempts: attempts) } else { runOnceFailed.insert(step.id) }
        }
        if step.ignoreErrors {
            return nil
        }
        if last?.lost == true { hostState[host] = "unreachable" }
        return reason
    }

    private func fail(_ step: Step, _ host: String, _ phase: RunEvent.Phase, _ batch: Int?, _ message: String) async -> String {
        await emit(event(.stepFinished, phase: phase, batch: batch, host: host, step: step, status: "failed", message: message))
        return "\(step.name): \(message)"
    }

    static func summary(_ attempt: StepAttempt) -> String {
        if let message = attempt.message { return message }
        if attempt.status == "timed-out" { return "timed out" }
        if let code = attempt.exitCode {
            let detail = attempt.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
            return "exit \(code)" + (detail.isEmpty ? "" : ": \(detail)")
        }
        return attempt.status
    }

    /// What `register:` stores.
    static func result(_ attempt: StepAttempt?, skipped: Bool, attempts: Int = 0) -> Value {
        guard let attempt else {
            return .map(["stdout": .string(""), "stderr": .string(""), "rc": .int(0), "failed": .bool(false), "changed": .bool(false),
                "skipped": .bool(true), "status": .int(0), "body": .string(""), "attempts": .int(0)])
        }
        func trimmed(_ text: String) -> String {
            var text = text
            while text.hasSuffix("\n") { text.removeLast() }
            return text
        }
        return .map([
            "stdout": .string(trimmed(attempt.stdout)), "stderr": .string(trimmed(attempt.stderr)),
            "rc": .int(attempt.exitCode ?? -1), "failed": .bool(!attempt.ok), "changed": .bool(true), "skipped": .bool(skipped),
            "status": .int(attempt.httpStatus ?? 0), "body": .string(attempt.httpStatus != nil ? attempt.stdout : ""),
            "attempts": .int(attempts),
        ])
    }

    // MARK: actions

    /// Carries out one attempt of an action on a host.
    func perform(_ step: Step, on host: String, context: TemplateContext, phase: RunEvent.Phase) async -> StepAttempt {
        let timeout = step.timeout ?? options.defaultStepTimeout
        do {
            switch step.action {
            case .shell(let template):
                let command = try template.render(context, quoting: .shell)
                return try await remote(command, on: host, timeout: timeout)
            case .command(let argv):
                let parts = try argv.map { try $0.render(context, quoting: .plain) }
                let command = RenderedText(
                    text: parts.map { ShellQuoting.quote($0.text) }.joined(separator: " "),
                    display: parts.map { ShellQuoting.quote($0.display) }.joined(separator: " "),
                    secrets: parts.flatMap(\.secrets))
                return try await remote(command, on: host, timeout: timeout)
            case .local(let template):
                let command = try template.render(context, quoting: .shell)
                return await local(command, timeout: timeout)
            case .upload(let transfer), .template(let transfer):
                return try await upload(transfer, render: { if case .template = step.action { true } else { false } }(), on: host, context: context)
            case .archive(let archive):
                return try await backup(archive, step: step, on: host, context: context)
            case .http(let http):
                return try await httpCheck(http, on: host, context: context)
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
                return try await waitFor(wait, on: host, context: context)
            case .gate:
                return StepAttempt(ok: true, status: "ok", command: "gate")
            }
        } catch let error as TemplateError {
            return StepAttempt(ok: false, status: "failed", command: step.name, message: "template: \(error)")
        } catch let error as TransportError {
            return StepAttempt(ok: false, status: "unreachable", command: step.name, message: error.message, lost: error.kind == .connectionLost || error.kind == .unreachable)
        } catch {
            return StepAttempt(ok: false, status: "failed", command: step.name, message: "\(error)")
        }
    }

    /// Runs a command on a host's open connection.
    ///
    /// - Throws: ``TransportError`` when the host is not connected or the connection drops (the
    ///   rollback reconnects; a deploy step fails the host).
    func remote(_ command: RenderedText, on host: String, timeout: Duration) async throws -> StepAttempt {
        guard let connection = connections[host] else {
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): not connected")
        }
        let outcome = try await connection.run(command.text, timeout: timeout, output: nil)
        let status = outcome.timedOut ? "timed-out" : outcome.succeeded ? "ok" : "failed"
        var message: String?
        if outcome.timedOut { message = "timed out after \(DurationSyntax.format(timeout)); the command was stopped" }
        if let signal = outcome.signal { message = "killed by SIG\(signal)" }
        return StepAttempt(
            ok: outcome.succeeded, status: status, exitCode: outcome.exitCode, command: command.display,
            stdout: outcome.stdoutText, stderr: outcome.stderrText, omitted: outcome.omitted, message: message)
    }

    /// Runs a command on the controller.
    func local(_ command: RenderedText, timeout: Duration) async -> StepAttempt {
        let directory = options.playbookDirectory
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                do {
                    let (status, output) = try ChildProcess.run(
                        "/usr/bin/timeout", [String(max(1, Int(timeout.seconds.rounded(.up)))), "/bin/sh", "-c", "cd \(ShellQuoting.quote(directory)) && \(command.text)"])
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

    private func upload(_ transfer: Transfer, render: Bool, on host: String, context: TemplateContext) async throws -> StepAttempt {
        let source = try transfer.source.render(context, quoting: .plain).text
        var destination = try transfer.destination.render(context, quoting: .plain).text
        let display = "\(render ? "render" : "upload") \(source) → \(try transfer.destination.render(context, quoting: .plain).display)"
        if destination.split(separator: "/").contains("..") {
            return StepAttempt(ok: false, status: "failed", command: display, message: "refusing destination '\(destination)': it climbs out with '..'")
        }
        let path = source.hasPrefix("/") ? source : options.playbookDirectory + "/" + source
        guard var data = FileManager.default.contents(atPath: path) else {
            return StepAttempt(ok: false, status: "failed", command: display, message: "cannot read local file \(path)")
        }
        if destination.hasSuffix("/") { destination += URL(fileURLWithPath: source).lastPathComponent }
        if render {
            let text = String(decoding: data, as: UTF8.self)
            do {
                let template = try Template.parse(fileText: text, file: path)
                data = Data(try template.render(context, quoting: .plain).text.utf8)
            } catch let error as PlaybookError {
                return StepAttempt(ok: false, status: "failed", command: display, message: "\(error)")
            }
        }
        guard let connection = connections[host] else {
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): not connected")
        }
        try await connection.upload(data, to: destination, mode: transfer.mode)
        return StepAttempt(ok: true, status: "ok", command: display, details: ["bytes": String(data.count), "sha256": Digest.sha256Hex(data)])
    }

    private func backup(_ archive: Archive, step: Step, on host: String, context: TemplateContext) async throws -> StepAttempt {
        let path = try archive.path.render(context, quoting: .plain).text
        let destination = try archive.destination.render(context, quoting: .plain).text
        let script = ArchiveScripts.create(path: path, archive: destination)
        var result = try await remote(RenderedText(text: script, display: "archive \(path) → \(destination)", secrets: []), on: host, timeout: step.timeout ?? .seconds(3600))
        if result.ok {
            // Only a finished archive has something to restore: an interrupted one never touched `path`.
            archives[host, default: [:]][step.id] = (path, destination)
            let fields = result.stdout.split(separator: " ").map(String.init)
            let details = ["path": path, "archive": destination, "sha256": fields.first ?? "", "bytes": fields.count > 1 ? fields[1].trimmingCharacters(in: .whitespacesAndNewlines) : "", "existed": fields.count > 2 ? fields[2].trimmingCharacters(in: .whitespacesAndNewlines) : ""]
            result.details = details
            await emit(
                RunEvent(
                    runID: options.runID, kind: .backupRecorded, phase: .backup, host: host, step: step.id, stepName: step.name,
                    status: "ok", message: "\(path) → \(destination) (\(details["bytes"] ?? "?") bytes)", details: details))
        }
        return result
    }

    private func httpCheck(_ http: HTTPCheck, on host: String, context: TemplateContext) async throws -> StepAttempt {
        let url = try http.url.render(context, quoting: .plain)
        let expected = try http.contains.map { try $0.render(context, quoting: .plain).text }
        let display = "GET \(url.display)"
        var status = 0
        var body = ""
        if http.viaHost {
            let command = "curl -s -m \(max(1, Int(http.timeout.seconds.rounded(.up)))) -o - -w '\\n%{http_code}' \(ShellQuoting.quote(url.text))"
            let result = try await remote(RenderedText(text: command, display: display + " (from the host)", secrets: url.secrets), on: host, timeout: http.timeout + .seconds(5))
            var lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            status = Int(lines.popLast() ?? "") ?? 0
            body = lines.joined(separator: "\n")
            if status == 0 {
                return StepAttempt(ok: false, status: "failed", command: display, message: "request from the host failed: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
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

    private func waitFor(_ wait: WaitCheck, on host: String, context: TemplateContext) async throws -> StepAttempt {
        let check: RenderedText
        switch wait.condition {
        case .port(let port, let target):
            let address = try target.map { try $0.render(context, quoting: .plain).text } ?? "127.0.0.1"
            check = RenderedText(
                text: "bash -c \(ShellQuoting.quote("exec 3<>/dev/tcp/\(address)/\(port)")) 2>/dev/null || nc -z \(ShellQuoting.quote(address)) \(port)",
                display: "port \(address):\(port) open", secrets: [])
        case .file(let file):
            let path = try file.render(context, quoting: .shell)
            check = RenderedText(text: "test -e \(path.text)", display: "file \(path.display) exists", secrets: path.secrets)
        case .command(let command):
            check = try command.render(context, quoting: .shell)
        }
        let deadline = ContinuousClock.now.advanced(by: wait.timeout)
        var polls = 0
        var last: StepAttempt?
        while ContinuousClock.now < deadline && !Task.isCancelled && polls < 100_000 {
            polls += 1
            let result = try await remote(check, on: host, timeout: min(wait.timeout, .seconds(60)))
            if result.ok { return StepAttempt(ok: true, status: "ok", command: "wait: \(check.display)", message: "true after \(polls) poll(s)") }
            last = result
            try? await Task.sleep(for: wait.interval)
        }
        return StepAttempt(
            ok: false, status: "timed-out", exitCode: last?.exitCode, command: "wait: \(check.display)",
            stderr: last?.stderr ?? "", message: "still false after \(DurationSyntax.format(wait.timeout)) (\(polls) polls)")
    }
}
