import Foundation
import Playbook
import System

/// A gate: asked once per batch, answered at the operator's terminal or from any terminal that
/// reaches the run's store (`golive answer`). Every answer goes through the store's mailbox, so
/// the first one that counts wins whoever gave it: the controller reads the mailbox every
/// ``Executor/gatePoll`` and takes answers in the store's order, refusing (and recording) one from
/// somebody who is not an approver of a gate that names approvers. A gate's `timeout:` is a no; so
/// is a run stopping meanwhile (its window's rollback point, the operator's Ctrl-C).
extension Executor {
    /// How often a waiting gate reads its mailbox.
    static let gatePoll: Duration = .milliseconds(200)

    func askGate(_ gate: Step, batch: Int, hosts: [String], play: Play) async -> Bool {
        guard case .gate(let spec) = gate.action else { return true }
        let context = hostContext(hosts.first ?? "", for: gate)
        let prompt = (try? spec.prompt.render(context, quoting: .plain).display) ?? gate.name
        var details: [String: String] = [:]
        if let owner = spec.owner { details["owner"] = owner }
        if !spec.approvers.isEmpty { details["approvers"] = spec.approvers.joined(separator: ",") }
        if let timeout = gate.timeout { details["timeout_ms"] = String(Int64((timeout.seconds * 1000).rounded())) }
        let asked = nextSequence
        let askedAt = Date()
        await emit(event(.gateAsked, batch: batch, step: gate, message: prompt, details: details.isEmpty ? nil : details))
        if options.assumeYes && spec.approvers.isEmpty {
            await emit(event(.gateAnswered, batch: batch, step: gate, status: "yes", message: "--yes (\(options.answeringIdentity))"))
            return true
        }
        let steps = play.backup + play.deploy
        let done = steps.filter { $0.index < gate.index || $0.section == .backup }.map(\.name)
        let next = play.deploy.filter { $0.index > gate.index }.map(\.name)
        guard let mailbox else {
            // A store without a mailbox (engine tests): the terminal alone answers.
            let answer = await gates?.answer(prompt, done: done, next: next) ?? false
            let how = gates == nil ? "no terminal and no --yes: a gate without an answer is a no" : "answered by \(options.answeringIdentity)"
            await emit(event(.gateAnswered, batch: batch, step: gate, status: answer ? "yes" : "no", message: how))
            return answer
        }
        // The operator's terminal answers through the mailbox too, so that the first answer wins.
        let terminal = gates.map { gates in
            Task { [options] () -> GateAnswer? in
                guard let yes = await gates.answer(prompt, done: done, next: next), !Task.isCancelled else { return nil }
                let answer = GateAnswer(
                    runID: options.runID, gate: asked, yes: yes, identity: options.storeIdentity ?? options.operatorName,
                    verified: options.operatorVerified, machine: options.machine, reason: "at the run's terminal")
                return try? await mailbox.post(answer)
            }
        }
        defer { terminal?.cancel() }
        let decision = await awaitAnswer(
            mailbox, gate: gate, spec: spec, asked: asked, askedAt: askedAt, batch: batch)
        let waited = Date().timeIntervalSince(askedAt)
        var answered = ["waited_ms": String(Int(waited * 1000))]
        let how: String
        switch decision {
        case .answer(let answer):
            answered.merge(["answer_id": String(answer.id), "answered_by": answer.identity, "verified": answer.verified ? "yes" : "no",
                "machine": answer.machine, "reason": answer.reason, "answered_at": Timestamp.milliseconds(answer.time)]) { $1 }
            how = "answered by \(answer.who) after \(String(format: "%.1f", waited)) s" + (answer.reason.isEmpty ? "" : ": \(answer.reason)")
        case .timedOut(let timeout):
            how = "no answer within its timeout (\(DurationSyntax.format(timeout))): a gate without an answer is a no"
        case .stopping(let reason):
            how = "the run is stopping (\(reason)): a gate without an answer is a no"
        }
        let yes = if case .answer(let answer) = decision { answer.yes } else { false }
        await emit(event(.gateAnswered, batch: batch, step: gate, status: yes ? "yes" : "no", message: how, details: answered))
        return yes
    }

    /// How a waiting gate ended.
    enum GateDecision {
        case answer(GateAnswer)
        case timedOut(Duration)
        case stopping(String)
    }

    /// Reads the mailbox until an answer that counts, the gate's timeout, or the run stopping;
    /// records each refused answer (not an approver) as it is read.
    private func awaitAnswer(
        _ mailbox: any GateMailbox, gate: Step, spec: Gate, asked: Int64, askedAt: Date, batch: Int
    ) async -> GateDecision {
        var seen: Set<Int64> = []
        let deadline = gate.timeout.map { askedAt.addingTimeInterval($0.seconds) }
        while true {
            if let reason = abortReason { return .stopping(reason.rawValue) }
            // A store that cannot be read now is asked again: its own outage handling stops the run
            // if it stays away.
            let answers = (try? await mailbox.answers(runID: options.runID, gate: asked)) ?? []
            for var answer in answers where seen.insert(answer.id).inserted {
                // What another terminal wrote is one short line here, whatever it holds.
                answer.reason = Self.oneLine(answer.reason, limit: 500)
                answer.machine = Self.oneLine(answer.machine, limit: 100)
                answer.identity = Self.oneLine(answer.identity, limit: 100)
                if !spec.approvers.isEmpty && !spec.approvers.contains(answer.identity) {
                    await emit(
                        event(
                            .gateAnswered, batch: batch, step: gate, status: "refused",
                            message: "\(answer.who) is not an approver of this gate (approvers: \(spec.approvers.joined(separator: ", "))); "
                                + "the answer \(answer.yes ? "yes" : "no") does not count",
                            details: ["answer_id": String(answer.id), "answered_by": answer.identity, "verified": answer.verified ? "yes" : "no",
                                "machine": answer.machine, "reason": answer.reason]))
                    continue
                }
                return .answer(answer)
            }
            if let deadline, Date() >= deadline, let timeout = gate.timeout { return .timedOut(timeout) }
            try? await Task.sleep(for: Self.gatePoll)
        }
    }

    /// `text` with every control character (newlines, escapes) made a space, cut at `limit` characters.
    static func oneLine(_ text: String, limit: Int) -> String {
        let flat = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
