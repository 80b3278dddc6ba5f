import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// Gates answered through the store's mailbox (from any terminal) against a scripted transport:
/// the first answer that counts wins, a non-approver's answer is refused and recorded, a timeout
/// is a no, `--yes` never answers a gate that names approvers, and a terminal slower than a remote
/// answer is cancelled. The same against real sshd hosts and both stores in `GateCommandTests`.
@Suite struct GateTests {
    static func gated(_ options: String = "") -> String {
        """
        name: gated
        hosts: web
        deploy:
          - name: release
            shell: apply {{ host.name }}
            rollback: revert {{ host.name }}
          - gate: "Smoke tests green on {{ host.name }}?"
            owner: on-call DBA
        \(options)
          - name: after
            shell: after {{ host.name }}
        """
    }

    /// Waits (bounded) until the run's journal shows its gate asked; returns that event's number.
    static func asked(_ run: ScriptedRun) async throws -> Int64 {
        for _ in 0..<500 {
            if let asked = await run.events.last(where: { $0.kind == .gateAsked })?.sequence { return asked }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CancellationError()
    }

    static func answer(_ run: ScriptedRun, gate: Int64, _ yes: Bool, as identity: String) -> GateAnswer {
        GateAnswer(runID: "", gate: gate, yes: yes, identity: identity, verified: true, machine: "desk", reason: "checked")
    }

    @Test func theFirstAnswerWinsAndNamesWhoGaveIt() async throws {
        let run = try ScriptedRun(hosts: 2)
        let mailbox = MemoryGateMailbox()
        let options = run.options()
        let outcome = try await run.run(Self.gated(), options: options, mailbox: mailbox) { _ in
            guard let gate = try? await Self.asked(run) else { return }
            var first = Self.answer(run, gate: gate, true, as: "bo")
            first.runID = options.runID
            var second = Self.answer(run, gate: gate, false, as: "ana")
            second.runID = options.runID
            _ = try? await mailbox.post(first)
            _ = try? await mailbox.post(second)
        }
        #expect(outcome.exitCode == 0, "\(outcome.reason ?? "")")
        let decision = try #require(await run.events.first { $0.kind == .gateAnswered })
        #expect(decision.status == "yes" && decision.details?["answered_by"] == "bo" && decision.details?["machine"] == "desk")
        #expect(decision.details?["answer_id"] == "1" && decision.details?["reason"] == "checked")
        #expect(await run.events.filter { $0.kind == .gateAnswered }.count == 1)
        #expect(run.transport.commands(on: "web1").contains("after web1"))
    }

    @Test func anAnswerFromSomebodyNotAnApproverIsRefusedAndRecorded() async throws {
        let run = try ScriptedRun(hosts: 2)
        let mailbox = MemoryGateMailbox()
        var configured = run.options()
        // --yes does not answer a gate that names approvers.
        configured.assumeYes = true
        let options = configured
        let outcome = try await run.run(Self.gated("    approvers: [dba-ana, dba-bo]"), options: options, mailbox: mailbox) { _ in
            guard let gate = try? await Self.asked(run) else { return }
            var intruder = Self.answer(run, gate: gate, true, as: "mallory")
            intruder.runID = options.runID
            _ = try? await mailbox.post(intruder)
            // The refusal is recorded before the approver answers.
            for _ in 0..<500 where await !run.events.contains(where: { $0.status == "refused" }) { try? await Task.sleep(for: .milliseconds(10)) }
            var approver = Self.answer(run, gate: gate, false, as: "dba-bo")
            approver.runID = options.runID
            _ = try? await mailbox.post(approver)
        }
        #expect(outcome.exitCode == 1, "\(outcome.reason ?? "")")
        let answers = await run.events.filter { $0.kind == .gateAnswered }
        #expect(answers.map(\.status) == ["refused", "no"], "\(answers.map { $0.message ?? "" })")
        #expect(answers.first?.message?.contains("mallory") == true && answers.first?.details?["answered_by"] == "mallory")
        #expect(answers.last?.details?["answered_by"] == "dba-bo")
        #expect(!run.transport.commands(on: "web1").contains("after web1"))
        #expect(run.transport.commands(on: "web1").last == "revert web1")
        let asked = try #require(await run.events.first { $0.kind == .gateAsked })
        #expect(asked.details?["approvers"] == "dba-ana,dba-bo" && asked.details?["owner"] == "on-call DBA")
    }

    @Test func aGateUnansweredWithinItsTimeoutIsNo() async throws {
        let run = try ScriptedRun(hosts: 1)
        var options = run.options()
        options.assumeYes = true
        let started = ContinuousClock.now
        let outcome = try await run.run(Self.gated("    approvers: dba\n    timeout: 300ms"), options: options, mailbox: MemoryGateMailbox())
        #expect(outcome.exitCode == 1)
        #expect(ContinuousClock.now - started < .seconds(10))
        let decision = try #require(await run.events.first { $0.kind == .gateAnswered })
        #expect(decision.status == "no" && decision.message?.contains("timeout (300ms)") == true, "\(decision.message ?? "")")
        #expect(Int(decision.details?["waited_ms"] ?? "") ?? 0 >= 300)
    }

    /// A terminal that answers yes after `delay` (and nothing if cancelled first).
    struct SlowTerminal: GateAnswerer {
        var delay: Duration
        let asked = Counter()
        func answer(_ prompt: String, done: [String], next: [String]) async -> Bool? {
            asked.increment()
            do { try await Task.sleep(for: delay) } catch { return nil }
            return true
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    @Test func aRemoteAnswerBeforeTheTerminalsWinsAndTheTerminalIsLeft() async throws {
        let run = try ScriptedRun(hosts: 1)
        let mailbox = MemoryGateMailbox()
        let options = run.options()
        let terminal = SlowTerminal(delay: .seconds(30))
        let started = ContinuousClock.now
        let outcome = try await run.run(Self.gated(), options: options, gates: terminal, mailbox: mailbox) { _ in
            guard let gate = try? await Self.asked(run) else { return }
            var remote = Self.answer(run, gate: gate, false, as: "dba")
            remote.runID = options.runID
            _ = try? await mailbox.post(remote)
        }
        #expect(outcome.exitCode == 1)
        #expect(ContinuousClock.now - started < .seconds(10), "the run waited for the terminal")
        #expect(terminal.asked.value == 1)
        let decision = try #require(await run.events.first { $0.kind == .gateAnswered })
        #expect(decision.status == "no" && decision.details?["answered_by"] == "dba")
        // The terminal's answer, when it is first, goes through the mailbox too, as the operator's.
        let quick = try ScriptedRun(hosts: 1)
        let own = MemoryGateMailbox()
        let yes = try await quick.run(Self.gated(), gates: SlowTerminal(delay: .milliseconds(1)), mailbox: own)
        #expect(yes.exitCode == 0)
        let mine = try #require(await quick.events.first { $0.kind == .gateAnswered })
        #expect(mine.details?["answered_by"] == "tester" && mine.details?["reason"] == "at the run's terminal")
    }

    @Test func aRunStoppingWhileItsGateWaitsAnswersNo() async throws {
        let run = try ScriptedRun(hosts: 1)
        let outcome = try await run.run(Self.gated(), mailbox: MemoryGateMailbox()) { executor in
            guard (try? await Self.asked(run)) != nil else { return }
            await executor.abort(.interrupted, detail: "interrupted by the operator")
        }
        #expect(outcome.exitCode == 130 || outcome.exitCode == 1, "\(outcome.exitCode)")
        let decision = try #require(await run.events.first { $0.kind == .gateAnswered })
        #expect(decision.status == "no" && decision.message?.contains("stopping") == true, "\(decision.message ?? "")")
    }
}
