import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// The engine against a scripted transport: rollback order, `max_fail`, `run_once`, in milliseconds.
/// The same behaviours are shown against real sshd hosts in `ExecutorTests`.
@Suite struct ScriptedExecutorTests {
    /// Two steps with rollbacks on four hosts in batches of `serial`.
    static func twoSteps(serial: Int = 2, maxFail: String = "0", extra: String = "") -> String {
        """
        name: two steps
        hosts: web
        serial: \(serial)
        max_fail: \(maxFail)
        deploy:
          - name: a
            shell: apply-a {{ host.name }}
            rollback: revert-a {{ host.name }}
          - name: b
            shell: apply-b {{ host.name }}
            rollback: revert-b {{ host.name }}
        \(extra)
        """
    }

    @Test func aFailureInTheSecondBatchUndoesEveryChangedHostInReverseOrder() async throws {
        let run = try ScriptedRun(hosts: 4)
        run.transport.on("apply-b web3", reply: .fail(3, "b broke"))
        let outcome = try await run.run(Self.twoSteps())
        #expect(outcome.exitCode == 1)
        #expect(outcome.reason?.contains("b broke") == true, "\(outcome.reason ?? "")")
        for host in ["web1", "web2", "web4"] {
            #expect(run.transport.commands(on: host) == ["apply-a \(host)", "apply-b \(host)", "revert-b \(host)", "revert-a \(host)"], "\(host)")
        }
        // The failed step was started: it counts as done and is undone too.
        #expect(run.transport.commands(on: "web3") == ["apply-a web3", "apply-b web3", "revert-b web3", "revert-a web3"])
        #expect(outcome.hosts.allSatisfy { $0.state == .rolledBack }, "\(outcome.hosts)")
        #expect(outcome.hosts.allSatisfy { $0.detail == "2 step(s) undone" }, "\(outcome.hosts.map(\.detail))")
    }

    @Test func aFailureInTheFirstBatchNeverTouchesTheSecond() async throws {
        let run = try ScriptedRun(hosts: 4)
        run.transport.on("apply-a web2", reply: .fail())
        let outcome = try await run.run(Self.twoSteps())
        #expect(outcome.exitCode == 1)
        #expect(run.transport.commands(on: "web3").isEmpty && run.transport.commands(on: "web4").isEmpty)
        #expect(run.transport.commands(on: "web1") == ["apply-a web1", "apply-b web1", "revert-b web1", "revert-a web1"])
        #expect(run.transport.commands(on: "web2") == ["apply-a web2", "revert-a web2"])
        #expect(outcome.hosts.first { $0.host == "web3" }?.state == .unchanged)
    }

    @Test func maxFailToleratesExactlyItsCountAndRollsBackOnlyTheFailedHost() async throws {
        // One of two fails with max_fail 1: tolerated, that host alone is rolled back, the run goes on.
        let tolerated = try ScriptedRun(hosts: 4)
        tolerated.transport.on("apply-b web1", reply: .fail())
        let first = try await tolerated.run(Self.twoSteps(maxFail: "1"))
        #expect(first.exitCode == 0, "\(first.status) \(first.reason ?? "")")
        #expect(tolerated.transport.commands(on: "web1") == ["apply-a web1", "apply-b web1", "revert-b web1", "revert-a web1"])
        for host in ["web2", "web3", "web4"] { #expect(tolerated.transport.commands(on: host) == ["apply-a \(host)", "apply-b \(host)"]) }
        #expect(first.hosts.first { $0.host == "web1" }?.state == .rolledBack)
        #expect(first.hosts.first { $0.host == "web2" }?.state == .changed)

        // Two of two fail with max_fail 1: over the limit, everything changed is rolled back.
        let exceeded = try ScriptedRun(hosts: 4)
        exceeded.transport.on("apply-b web1", reply: .fail())
        exceeded.transport.on("apply-b web2", reply: .fail())
        let second = try await exceeded.run(Self.twoSteps(maxFail: "1"))
        #expect(second.exitCode == 1)
        let events = await exceeded.events
        #expect(events.contains { $0.kind == .rollbackStarted && $0.status == AbortReason.maxFailExceeded.rawValue })
        #expect(exceeded.transport.commands(on: "web3").isEmpty)

        // 50% of a batch of 2 is one host; 49% is none.
        let percent = try ScriptedRun(hosts: 2)
        percent.transport.on("apply-a web2", reply: .fail())
        #expect(try await percent.run(Self.twoSteps(maxFail: "50%")).exitCode == 0)
        let under = try ScriptedRun(hosts: 2)
        under.transport.on("apply-a web2", reply: .fail())
        #expect(try await under.run(Self.twoSteps(maxFail: "49%")).exitCode == 1)
    }

    @Test func aRunOnceResultIsSharedWithEveryHostAndItsCommandRunsOnce() async throws {
        let run = try ScriptedRun(hosts: 3)
        run.transport.on("make-build", reply: .ok("build-42\n"))
        let playbook = """
            name: run once
            hosts: web
            serial: 3
            deploy:
              - name: build
                shell: make-build
                run_once: true
                register: build
                rollback: forget-build
              - name: use
                shell: install {{ build.stdout }} {{ host.name }}
                rollback: uninstall {{ build.stdout }} {{ host.name }}
            """
        let outcome = try await run.run(playbook)
        #expect(outcome.exitCode == 0)
        #expect(run.transport.sent.filter { $0.text == "make-build" }.count == 1)
        #expect(run.transport.commands(on: "web1") == ["make-build", "install build-42 web1"])
        for host in ["web2", "web3"] { #expect(run.transport.commands(on: host) == ["install build-42 \(host)"]) }
        let shared = try #require(run.snapshots.last?.state)
        for host in ["web1", "web2", "web3"] { #expect(shared[host].registered["build"]?["stdout"] == .string("build-42")) }
    }

    @Test func aRunOnceStepThatFailsFailsTheWaitingHostsAtOnce() async throws {
        let run = try ScriptedRun(hosts: 3)
        run.transport.on("make-build", reply: .fail(2, "no compiler"))
        let playbook = """
            name: run once fails
            hosts: web
            serial: 3
            max_fail: 2
            deploy:
              - name: build
                shell: make-build
                run_once: true
                register: build
                rollback: forget-build
              - name: use
                shell: install {{ build.stdout }}
            """
        let begin = ContinuousClock.now
        let outcome = try await run.run(playbook)
        // web1's failure is within max_fail; web2 and web3 do not wait for a result that cannot come.
        #expect(begin.duration(to: .now) < .seconds(5))
        #expect(outcome.exitCode == 1)
        #expect(run.transport.sent.allSatisfy { !$0.text.hasPrefix("install") })
        #expect(outcome.reason?.contains("web2: build: run_once step did not succeed on web1") == true, "\(outcome.reason ?? "")")
    }

    @Test func aHungStepIsStoppedByItsTimeoutAndRolledBack() async throws {
        let run = try ScriptedRun(hosts: 1)
        run.transport.on("apply-b", reply: .hang)
        let outcome = try await run.run(Self.twoSteps(serial: 1).replacingOccurrences(of: "    rollback: revert-b {{ host.name }}", with: "    rollback: revert-b {{ host.name }}\n    timeout: 200ms"))
        #expect(outcome.exitCode == 1)
        let events = await run.events
        #expect(events.contains { $0.kind == .stepFinished && $0.step == "deploy[1]" && $0.status == "timed-out" })
        #expect(run.transport.commands(on: "web1").suffix(2) == ["revert-b web1", "revert-a web1"])
    }

    @Test func aDroppedConnectionIsReconnectedForTheRollback() async throws {
        let run = try ScriptedRun(hosts: 2)
        run.transport.on("apply-b web2", reply: .drop)
        let outcome = try await run.run(Self.twoSteps())
        #expect(outcome.exitCode == 1, "\(outcome.status) \(outcome.attention)")
        #expect(run.transport.sent.filter { $0.host == "web2" && $0.kind == .connect }.count == 2)
        #expect(run.transport.commands(on: "web2").suffix(2) == ["revert-b web2", "revert-a web2"])
    }

    @Test func aHostThatStaysUnreachableIsReportedForAPerson() async throws {
        let run = try ScriptedRun(hosts: 2)
        run.transport.on("apply-b web2", reply: .drop)
        run.transport.refuseConnections(to: "web2", after: 1)
        let outcome = try await run.run(Self.twoSteps())
        #expect(outcome.exitCode == 4, "\(outcome.status)")
        #expect(outcome.attention.contains { $0.contains("web2") && $0.contains("unreachable") }, "\(outcome.attention)")
        #expect(outcome.hosts.first { $0.host == "web2" }?.state == .needsAttention)
        #expect(run.transport.commands(on: "web1").suffix(2) == ["revert-b web1", "revert-a web1"])
        #expect(run.transport.commands(on: "web2") == ["apply-a web2", "apply-b web2"])
    }

    /// An abort stops a `local` step in flight (its process group), as it stops remote commands.
    @Test func anAbortStopsALocalStepInFlight() async throws {
        let run = try ScriptedRun(hosts: 1)
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("local-\(UUID().uuidString)").path
        let begin = ContinuousClock.now
        let outcome = try await run.run(
            """
            name: local
            hosts: web
            deploy:
              - name: slow
                local: sleep 20 && touch \(marker)
            """,
            during: { executor in
                for _ in 0..<500 {
                    if await !executor.state["web1"].started.isEmpty { break }
                    try? await Task.sleep(for: .milliseconds(20))
                }
                await executor.abort(.interrupted, detail: "interrupted by the test")
            })
        #expect(outcome.result == .interrupted, "\(outcome.result)")
        #expect(begin.duration(to: .now) < .seconds(15))
        try await Task.sleep(for: .milliseconds(200))
        #expect(!FileManager.default.fileExists(atPath: marker), "the local command ran on after the abort")
    }

    /// The host lock's info file has one field a line, whatever the values hold.
    @Test func aValueCannotAddLinesToTheHostLockInfo() async throws {
        let run = try ScriptedRun(hosts: 1)
        var options = run.options()
        options.operatorName = "eve\nrun=FAKE-RUN\nenvironment=prod"
        _ = try await run.run("name: x\nhosts: web\ndeploy:\n  - shell: true\n", options: options)
        let take = try #require(run.transport.sent.map(\.text).first { $0.contains("operator=") })
        #expect(!take.contains("\nrun=FAKE-RUN") && !take.contains("\nenvironment=prod"), "\(take)")
        #expect(take.contains("operator=eve?run=FAKE-RUN?environment=prod"))
    }
}
