import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// The run's state is the fold of its events: replaying any prefix of a recorded journal gives
/// exactly the state the live run had at that point, and a recovery from any prefix continues
/// from that state.
@Suite struct RunStateTests {
    static let playbook = """
        name: fold
        hosts: web
        serial: 2
        deploy:
          - name: build
            shell: make-build
            run_once: true
            register: build
            rollback: forget-build
          - name: previous
            shell: current-release {{ host.name }}
            register: previous
          - name: switch
            shell: switch {{ host.name }} {{ build.stdout }}
            rollback: switch {{ host.name }} {{ previous.stdout }}
          - name: skipped
            shell: never
            when: false
            register: skipped
        """

    static func script(_ run: ScriptedRun) {
        run.transport.on("make-build", reply: .ok("b7\n"))
        for host in 1...4 { run.transport.on("current-release web\(host)", reply: .ok("r\(host)\n")) }
    }

    /// Checks that every prefix of `events` replays to the matching live snapshot.
    static func expectEveryPrefixReplays(_ events: [RunEvent], _ snapshots: [(event: RunEvent, state: RunState)], base: Int = 0)
        throws
    {
        try #require(events.count == base + snapshots.count, "\(events.count) events, \(snapshots.count) snapshots")
        var replayed = RunState.replay(Array(events.prefix(base)), runID: events.first?.runID)
        for (index, snapshot) in snapshots.enumerated() {
            let event = events[base + index]
            #expect(event.sequence == snapshot.event.sequence && event.kind == snapshot.event.kind)
            replayed.apply(event)
            #expect(replayed == snapshot.state, "state differs after event \(base + index + 1) (\(event.kind))")
            // The same as replaying the prefix from scratch.
            if index % 7 == 0 {
                #expect(RunState.replay(Array(events.prefix(base + index + 1))) == snapshot.state)
            }
        }
    }

    @Test func everyPrefixOfASuccessfulRunReplaysToItsLiveState() async throws {
        let run = try ScriptedRun(hosts: 4)
        Self.script(run)
        let outcome = try await run.run(Self.playbook)
        #expect(outcome.exitCode == 0)
        let events = await run.events
        try Self.expectEveryPrefixReplays(events, run.snapshots)
        let final = RunState.replay(events)
        #expect(final.result == .succeeded)
        #expect(final.changedHosts == ["web1", "web2", "web3", "web4"])
        #expect(final["web3"].registered["build"]?["stdout"] == .string("b7"))
        #expect(final["web3"].registered["previous"]?["stdout"] == .string("r3"))
        #expect(final["web3"].registered["skipped"]?["skipped"] == .bool(true))
        #expect(final["web3"].started.map(\.id) == ["deploy[1]", "deploy[2]"])
        #expect(final["web1"].started.map(\.id) == ["deploy[0]", "deploy[1]", "deploy[2]"])
        #expect(final["web2"].started.last?.rollback == "switch web2 r2")
        #expect(final.finishedBatches == [1, 2])
        #expect(final.hosts.values.allSatisfy { !$0.lockHeld && $0.open.isEmpty })
    }

    @Test func everyPrefixOfARolledBackRunReplaysToItsLiveState() async throws {
        let run = try ScriptedRun(hosts: 4)
        Self.script(run)
        run.transport.on("switch web4 b7", reply: .fail(1, "disk full"))
        let outcome = try await run.run(Self.playbook)
        #expect(outcome.exitCode == 1)
        let events = await run.events
        try Self.expectEveryPrefixReplays(events, run.snapshots)
        let final = RunState.replay(events)
        #expect(final.result == .rolledBack)
        #expect(final.changedHosts.isEmpty)
        #expect(final.hostOrder.allSatisfy { final[$0].state == .rolledBack })
        #expect(run.transport.commands(on: "web2").last == "switch web2 r2")
    }

    /// Cuts a recorded journal after the `index`th event and recovers from there.
    static func recoverFrom(
        _ events: [RunEvent], cut index: Int, _ recovery: Executor.Recovery, failing: String? = nil
    ) async throws -> (ScriptedRun, RunOutcome, [RunEvent]) {
        let run = try ScriptedRun(hosts: 4)
        Self.script(run)
        if let failing { run.transport.on(failing, reply: .fail()) }
        let prefix = Array(events.prefix(index))
        try await run.seed(prefix)
        let runID = try #require(events.first?.runID)
        let outcome = try await run.recover(Self.playbook, runID: runID, recovery)
        let all = await run.events
        try expectEveryPrefixReplays(all, run.snapshots, base: prefix.count)
        return (run, outcome, all)
    }

    @Test func aRunKilledMidStepIsRolledBackFromEveryPrefix() async throws {
        let original = try ScriptedRun(hosts: 4)
        Self.script(original)
        #expect(try await original.run(Self.playbook).exitCode == 0)
        let events = await original.events
        // Every point where a deploy step had started and not finished: the controller dies there.
        let cuts = events.indices.filter { events[$0].kind == .stepStarted && events[$0].phase == .deploy }.map { $0 + 1 }
        #expect(cuts.count == 9)
        for cut in cuts {
            let (run, outcome, all) = try await Self.recoverFrom(events, cut: cut, .rollback)
            #expect(outcome.exitCode == 0, "cut \(cut): \(outcome.status) \(outcome.attention)")
            let before = RunState.replay(Array(events.prefix(cut)))
            let open = before.openSteps.map { "\($0.host) \($0.step.id)" }
            #expect(!open.isEmpty, "cut \(cut)")
            // The unconfirmed steps are marked, and counted as done: their rollbacks run.
            let lost = all.dropFirst(cut).filter { $0.kind == .controllerLost }.map { "\($0.host ?? "") \($0.step ?? "")" }
            #expect(lost == open, "cut \(cut)")
            for host in before.changedHosts {
                let undo = run.transport.commands(on: host).filter { $0.hasPrefix("switch") }
                let started = before[host].started.contains { $0.id == "deploy[2]" }
                #expect(undo == (started ? ["switch \(host) r\(host.dropFirst(3))"] : []), "cut \(cut) \(host): \(undo)")
            }
            let after = RunState.replay(all)
            #expect(after.changedHosts.isEmpty && after.result == .rolledBack, "cut \(cut)")
        }
    }

    @Test func aRunKilledMidStepIsResumedFromEveryPrefix() async throws {
        let original = try ScriptedRun(hosts: 4)
        Self.script(original)
        #expect(try await original.run(Self.playbook).exitCode == 0)
        let events = await original.events
        let cuts = events.indices.filter { events[$0].kind == .stepStarted && events[$0].phase == .deploy }.map { $0 + 1 }
        for cut in cuts {
            let (run, outcome, all) = try await Self.recoverFrom(events, cut: cut, .resume)
            #expect(outcome.exitCode == 0, "cut \(cut): \(outcome.status) \(outcome.reason ?? "")")
            let after = RunState.replay(all)
            #expect(after.result == .succeeded)
            // Every host ends with the switch done, using the build shared from web1's recorded result.
            for host in ["web1", "web2", "web3", "web4"] {
                #expect(after[host].confirmed.contains("deploy[2]"), "cut \(cut) \(host)")
                let switched = run.transport.commands(on: host).filter { $0.hasPrefix("switch") }
                #expect(switched.allSatisfy { $0 == "switch \(host) b7" }, "cut \(cut) \(host): \(switched)")
            }
            #expect(run.transport.sent.filter { $0.text == "make-build" }.count <= 1)
        }
    }

    @Test func aRunKilledMidRollbackIsFinishedFromEveryPrefix() async throws {
        let original = try ScriptedRun(hosts: 4)
        Self.script(original)
        original.transport.on("switch web4 b7", reply: .fail())
        #expect(try await original.run(Self.playbook).exitCode == 1)
        let events = await original.events
        let cuts = events.indices.filter { events[$0].kind == .rollbackStepStarted }.map { $0 + 1 }
        #expect(cuts.count == 5)
        for cut in cuts {
            let (run, outcome, all) = try await Self.recoverFrom(events, cut: cut, .rollback)
            #expect(outcome.exitCode == 0, "cut \(cut): \(outcome.status) \(outcome.attention)")
            let before = RunState.replay(Array(events.prefix(cut)))
            // Hosts already rolled back are left alone, and so is an undo already recorded done;
            // the rest is rolled back, each undo once.
            for host in ["web1", "web2", "web3", "web4"] {
                let undone = run.transport.commands(on: host).filter { $0.hasPrefix("switch") }
                let pending = before[host].isChanged && before[host].started.contains { $0.name == "switch" && !before[host].undone.contains($0.id) }
                #expect(undone.count == (pending ? 1 : 0), "cut \(cut) \(host): \(undone)")
            }
            #expect(RunState.replay(all).changedHosts.isEmpty)
        }
    }

    @Test func payloadsKeepTheStoredKeys() throws {
        var started = RunStartedDetails(
            playbook: "p", playbookFile: "/p.yml", inventoryFile: "/i.yml", environment: "prod", kind: "run",
            operatorName: "ann", hosts: ["web1", "web2"], batches: [["web1"], ["web2"]], controller: "laptop", pid: 42,
            stepsPerHost: 3)
        started.planFingerprint = "abc"
        let flat = try DetailsEncoder().encode(started)
        #expect(
            Set(flat.keys) == [
                "playbook", "playbook_file", "inventory_file", "environment", "kind", "operator", "hosts", "batches",
                "controller", "pid", "steps_per_host", "batch_hosts", "plan_fingerprint",
            ])
        #expect(flat["batch_hosts"] == "web1;web2" && flat["pid"] == "42" && flat["batches"] == "2")
        #expect(try DetailsDecoder().decode(RunStartedDetails.self, from: flat) == started)
        let step = StepDetails(key: "k", register: "r", runOnce: true, failed: false, httpStatus: 204, final: true)
        let stepFlat = try DetailsEncoder().encode(step)
        #expect(stepFlat == ["step_key": "k", "register": "r", "run_once": "true", "failed": "false", "http_status": "204", "final": "true"])
        #expect(try DetailsDecoder().decode(StepDetails.self, from: stepFlat) == step)
        // A value of the wrong form is an error, never a silent default.
        #expect(throws: DecodingError.self) { try DetailsDecoder().decode(StepDetails.self, from: ["http_status": "two hundred"]) }
        let figures = ProbeFigures(details: ["load1": "0.5", "baseline load1": "0.4", "baselines": "0.0=0.4;1=12.0"])
        #expect(figures.values == ["load1": 0.5] && figures.baselines == ["0.0": 0.4, "1": 12])
        #expect(ProbeFigures(details: figures.details) == figures)
    }
}
