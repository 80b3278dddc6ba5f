import Foundation
import Playbook
import System

/// How each kind of step is carried out on one host: one attempt, no retries, no events but the
/// kind's own (a backup's `backupRecorded`). ``StepRunner`` wraps it with conditions, retries and the
/// record. Each kind's half lives in a file of its own (`StepActions+Kind.swift`); this file only
/// dispatches, and its `switch` is exhaustive: a new kind without its action does not compile.
struct StepActions {
    /// The host the steps run on (for a delegated step, the host it is delegated to).
    let host: String
    /// `shell` and `command` run on the controller (`delegate_to: controller`).
    var onController = false
    /// The host a delegated step runs for: it uses a connection of its own to ``host``, so that
    /// several hosts' delegated steps run side by side (one SSH connection runs one command at a time).
    var behalfOf: String?
    /// How the commands escalate (`become`), or nil to run as the login user.
    var become: Escalation?

    /// Where a step runs for `host`: on the host, on the host it is delegated to, or on the controller;
    /// and with which privilege.
    static func place(of step: Step, for host: String, in run: isolated any RunControl) -> StepActions {
        var place: StepActions
        switch step.delegate {
        case nil: place = StepActions(host: host)
        case .controller: place = StepActions(host: host, onController: true)
        case .host(let name): place = StepActions(host: name, behalfOf: host)
        }
        place.become = run.escalation(for: step, on: host)
        return place
    }

    /// The connection the actions use: the host's, or for a delegated step its own to the host it is delegated to.
    func connection(in run: isolated any RunControl) async throws -> any HostConnection {
        if let behalfOf { return try await run.delegatedConnection(to: host, for: behalfOf) }
        guard let connection = run.connection(to: host) else {
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): not connected")
        }
        return connection
    }

    /// Carries out one attempt of a step on a host; `tag` names its remote commands on the host.
    func perform(_ step: Step, context: TemplateContext, phase: RunEvent.Phase, tag: String, in run: isolated any RunControl) async -> StepAttempt {
        await attempt(step.action, name: step.name, timeout: step.timeout, backup: step, context: context, tag: tag, in: run)
    }

    /// Carries out one attempt of an action (a step's, or a health probe's) on a host. `backup` is
    /// the step an `archive` action belongs to: its backup is recorded under that step.
    func attempt(
        _ action: Step.Action, name: String, timeout: Duration?, backup step: Step? = nil, context: TemplateContext, tag: String,
        in run: isolated any RunControl
    ) async -> StepAttempt {
        let timeout = timeout ?? run.options.defaultStepTimeout
        do {
            switch action {
            case .shell(let template):
                let command = try template.render(context, quoting: .shell)
                if onController { return await StepActions.local(command, timeout: timeout, tag: tag, in: run) }
                return try await remote(command, timeout: timeout, tag: tag, in: run)
            case .command(let argv):
                let parts = try argv.map { try $0.render(context, quoting: .plain) }
                let command = RenderedText(
                    text: parts.map { ShellQuote.quote($0.text) }.joined(separator: " "),
                    display: parts.map { ShellQuote.quote($0.display) }.joined(separator: " "),
                    secrets: parts.flatMap(\.secrets))
                if onController { return await StepActions.local(command, timeout: timeout, tag: tag, in: run) }
                return try await remote(command, timeout: timeout, tag: tag, in: run)
            case .local(let template):
                let command = try template.render(context, quoting: .shell)
                return await StepActions.local(command, timeout: timeout, tag: tag, in: run)
            case .upload(let transfer), .template(let transfer):
                return try await upload(
                    transfer, render: { if case .template = action { true } else { false } }(), context: context, tag: tag, timeout: timeout,
                    in: run)
            case .archive(let archive):
                guard let step else { return StepAttempt(ok: false, status: "failed", command: name, message: "an archive runs only as a backup step") }
                return try await backup(archive, step: step, context: context, tag: tag, in: run)
            case .http(let http):
                return try await httpCheck(http, context: context, tag: tag, in: run)
            case .tcp(let tcp):
                return try await tcpCheck(tcp, context: context, in: run)
            case .wait(let wait):
                return try await waitFor(wait, context: context, tag: tag, in: run)
            case .gate:
                return StepAttempt(ok: true, status: "ok", command: "gate")
            }
        } catch let error as TemplateError {
            return StepAttempt(ok: false, status: "failed", command: name, message: "template: \(error)")
        } catch let error as TransportError {
            // A lost connection is the host's state; a path or permission error is the step's failure.
            let lost = error.kind == .connectionLost || error.kind == .unreachable
            let login = run.connection(to: host)?.summary.user ?? ""
            let user = become.map { "\($0.user) via \($0.method.rawValue), logged in as \(login)" } ?? login
            return StepAttempt(
                ok: false, status: lost ? StepStatus.unreachable.rawValue : StepStatus.failed.rawValue, command: name,
                message: lost || login.isEmpty ? error.message : "\(error.message) (as \(user))", lost: lost)
        } catch {
            return StepAttempt(ok: false, status: "failed", command: name, message: "\(error)")
        }
    }
}
