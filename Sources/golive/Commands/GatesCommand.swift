import ArgumentParser
import Console
import Engine
import Foundation
import Playbook
import Store
import System

/// `golive gates`: the gates runs wait at, from any terminal that reaches their store.
struct GatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gates", abstract: "List the gates runs are waiting at: run, step, owner, approvers, question, waiting since.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "JSON lines.") var json = false

    func run() async throws {
        let store = try await storeOptions.open()
        let waiting = try await Self.waiting(in: store)
        await store.close()
        if json {
            for gate in waiting {
                var item: [String: Any] = [
                    "run": gate.runID, "gate": gate.sequence, "step": gate.stepName, "question": gate.question,
                    "since": Timestamp.seconds(gate.since), "approvers": gate.approvers,
                ]
                item["owner"] = gate.owner
                item["batch"] = gate.batch
                item["deadline"] = gate.deadline.map(Timestamp.seconds)
                let data = try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        guard !waiting.isEmpty else {
            print("no gate is waiting in \(store.location)")
            return
        }
        for gate in waiting {
            let minutes = Int(Date().timeIntervalSince(gate.since) / 60)
            var text = "\(gate.runID)  batch \(gate.batch.map(String.init) ?? "-")  waiting \(minutes) min since \(Timestamp.seconds(gate.since))\n"
            text += "  question:  \(gate.question)\n"
            text += "  owner:     \(gate.owner ?? "the operator running golive")\n"
            if !gate.approvers.isEmpty { text += "  approvers: \(gate.approvers.joined(separator: ", "))\n" }
            if let deadline = gate.deadline { text += "  answered no by itself at \(Timestamp.seconds(deadline))\n" }
            text += "  answer:    golive answer \(gate.runID) yes|no --reason TEXT\n"
            print(TerminalText.visible(text), terminator: "")
        }
    }

    /// The gates of every running run of `store`, oldest first.
    static func waiting(in store: any RunStore) async throws -> [WaitingGate] {
        var gates: [WaitingGate] = []
        for run in try await store.runs(limit: 500, kind: nil) where run.status == "running" {
            if let gate = WaitingGate.of(try await store.events(runID: run.id)) { gates.append(gate) }
        }
        return gates.sorted { $0.since < $1.since }
    }
}

/// `golive answer RUN yes|no`: answers the gate a run waits at, as whoever the store says you are.
struct AnswerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer", abstract: "Answer the gate a run is waiting at (yes: go on; no: roll back), from any terminal that reaches its store.")

    @Argument(help: "The run id (or a unique prefix).") var run: String
    @Argument(help: "yes or no.") var answer: String
    @Option(name: .long, help: "Why (recorded on the timeline with the answer).") var reason = ""
    @Option(name: .customLong("as"), help: "On a local store only: the name to answer as, recorded as a claim golive cannot verify.")
    var name: String?
    @Option(name: .long, help: "How long to wait for the run's controller to take the answer (default 10s).") var wait = "10s"
    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let yes: Bool
        switch answer.lowercased() {
        case "yes", "y": yes = true
        case "no", "n": yes = false
        default:
            Terminal.error("error: the answer is yes or no, not '\(TerminalText.visible(answer))'")
            throw ExitStatus.invalidInput.exitCode
        }
        guard let patience = DurationSyntax.parse(wait), patience > .zero else {
            Terminal.error("error: --wait \(TerminalText.visible(wait)) is not a duration (10s, 1m)")
            throw ExitStatus.invalidInput.exitCode
        }
        if let name, name.isEmpty || name.contains(where: { $0.isWhitespace || $0.isNewline || $0 == "," }) {
            Terminal.error("error: --as '\(TerminalText.visible(name))' is not a name (no spaces or commas)")
            throw ExitStatus.invalidInput.exitCode
        }
        guard reason.count <= 500, !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            Terminal.error("error: --reason is one line of at most 500 characters, without control characters")
            throw ExitStatus.invalidInput.exitCode
        }
        let store = try await storeOptions.open()
        defer { Task { await store.close() } }
        let identity: String
        let verified: Bool
        if let login = await store.identity() {
            if name != nil {
                Terminal.error(
                    "error: --as is for a local store only: this store records who answers as its login (\(login)), which golive can stand behind")
                throw ExitStatus.invalidInput.exitCode
            }
            (identity, verified) = (login, true)
        } else {
            (identity, verified) = (name ?? StoreLocation.osUser, name == nil || name == StoreLocation.osUser)
        }
        guard let mailbox = store.gateMailbox else {
            Terminal.error("error: \(store.location) takes no gate answers")
            throw ExitStatus.refused.exitCode
        }
        let record = try await storeOptions.run(store, run)
        guard record.status == "running" else {
            Terminal.error("error: run \(record.id) has ended (\(record.status)); no gate waits there")
            throw ExitStatus.refused.exitCode
        }
        guard let gate = WaitingGate.of(try await store.events(runID: record.id)) else {
            Terminal.error("error: run \(record.id) is not waiting at a gate now (`golive gates` lists those that are)")
            throw ExitStatus.refused.exitCode
        }
        let posted: GateAnswer
        do {
            posted = try await mailbox.post(
                GateAnswer(
                    runID: record.id, gate: gate.sequence, yes: yes, identity: identity, verified: verified,
                    machine: ProcessInfo.processInfo.hostName, reason: reason))
        } catch {
            Terminal.error(
                "error: the answer could not be left in \(store.location): \(error)"
                    + ("\(error)".contains("permission denied") ? " (this login may not answer gates: it needs the golive_approver or golive_operator role)" : ""))
            throw ExitStatus.refused.exitCode
        }
        let said = "\(yes ? "yes" : "no") from \(posted.who)"
        if !gate.allows(posted.identity) {
            Terminal.error(
                "error: \(posted.identity) is not an approver of this gate (approvers: \(gate.approvers.joined(separator: ", "))): "
                    + "the answer is recorded as refused and does not count")
            throw ExitStatus.refused.exitCode
        }
        // The run's controller reads its mailbox several times a second: wait for its decision.
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            let events = try await store.events(runID: record.id, after: gate.sequence)
            if let decision = gate.decision(in: events) {
                if decision.details?["answer_id"] == String(posted.id) {
                    print(TerminalText.visible("run \(record.id): gate '\(gate.stepName)' answered \(said); the run \(yes ? "goes on" : "rolls back")"))
                    return
                }
                Terminal.error(
                    TerminalText.visible(
                        "error: the gate was decided before your answer counted: \(decision.status ?? "") (\(decision.message ?? "")); yours (\(said)) was not used"))
                throw ExitStatus.refused.exitCode
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Terminal.error(
            "error: your answer (\(said)) is left in the store, and the run's controller has not taken it within \(wait): "
                + "is it alive? (`golive runs` shows a lost controller)")
        throw ExitStatus.refused.exitCode
    }
}
