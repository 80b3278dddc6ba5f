import Foundation
import GoliveTestSupport
import System
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A delegated step is recovered like any other: its command's process group is recorded on the
/// host it runs on (the load balancer), so a controller killed mid-drain leaves nothing running
/// there once the run is recovered, and the undo runs on the balancer. Real sshd hosts, the real binary.
@Suite(.serialized) struct DelegationRecoveryTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    var store: String { live.directory + "/store.sqlite" }
    var balancer: String { live.host("lb1")!.root }

    init() throws { live = try LiveHosts(count: 2, tiers: true) }

    func lines(_ file: String) -> [String] {
        ((try? String(contentsOfFile: balancer + "/" + file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func aControllerKilledMidDrainIsRecoveredOnTheBalancer() async throws {
        let play = try live.write(
            """
            name: slow drain
            hosts: web
            vars: { trace: \(balancer)/trace }
            deploy:
              - name: drain
                shell: echo "start $$" >> {{ trace }}; sleep 8; echo drain {{ host.name }} >> {{ lb_actions }}; echo "end $$" >> {{ trace }}
                delegate_to: lb1
                rollback: echo enable {{ host.name }} >> {{ lb_actions }}
            """, name: "drain.yml")
        let log = live.directory + "/run.log"
        let process = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--json"], output: log)
        let started = await eventually(timeout: .seconds(60)) { lines("trace").filter { $0.hasPrefix("start") }.count == 2 }
        try #require(started, "\((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(800) ?? "")")
        let id = try #require(GoliveBinary.runID(in: (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        process.signal(SIGKILL)
        #expect(process.wait() == 137)
        let orphans = lines("trace").compactMap { Int32($0.dropFirst(6)) }
        #expect(orphans.count == 2 && orphans.allSatisfy { kill($0, 0) == 0 }, "the drains outlive their controller on lb1: \(lines("trace"))")

        let recovered = try golive.run(["resume", id, "--rollback", "--store", store])
        #expect(recovered.status == 0, "\(recovered.output.suffix(1500))")
        let events = try golive.timelineEvents(id, store: store)
        let stopped = events.filter { $0["kind"] as? String == "processStopped" }
        #expect(stopped.count == 2 && stopped.allSatisfy { $0["host"] as? String == "lb1" }, "\(stopped) \(recovered.output.suffix(3000))")
        let firstUndo = try #require(events.firstIndex { $0["kind"] as? String == "rollbackStepStarted" })
        #expect(try #require(events.lastIndex { $0["kind"] as? String == "processStopped" }) < firstUndo)
        #expect(orphans.allSatisfy { kill($0, 0) != 0 }, "the lost drains are gone")
        // The balancer's files: no drain finished, each host's undo ran there; nothing left locked.
        #expect(!lines("trace").contains { $0.hasPrefix("end") })
        #expect(Set(lines("etc/lb/actions.log")) == ["enable web1", "enable web2"] && lines("etc/lb/actions.log").count == 2)
        #expect(!FileManager.default.fileExists(atPath: balancer + "/var/tmp/golive/lock"))
    }

    /// The same for a step run on the controller (`delegate_to: controller`, or `local`): its
    /// process group is recorded on the controller, so a recovery on this machine stops what the
    /// lost controller left running there first — a rollback never races it, and a plain resume
    /// never runs a second copy beside it.
    @Test(arguments: [("delegate_to: controller", "--rollback"), ("local", "")])
    func aControllerKilledMidControllerStepLeavesNothingRunningThere(_ kind: String, _ mode: String) async throws {
        let trace = live.directory + "/controller-\(mode.isEmpty ? "resume" : "rollback").trace"
        let command = "echo \"start $$\" >> \(trace); sleep 8; echo \"end $$\" >> \(trace)"
        let step = kind == "local" ? "local: \(command)" : "shell: \(command)\n    delegate_to: controller"
        let play = try live.write(
            """
            name: slow on the controller
            hosts: web
            deploy:
              - name: slow
                \(step)
                rollback: echo undo {{ host.name }} >> \(trace)
            """, name: "controller-\(UUID().uuidString.prefix(6)).yml")
        let lines: @Sendable () -> [String] = { ((try? String(contentsOfFile: trace, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        let root = live.directory + "/controller-records"
        let environment = ["GOLIVE_CONTROLLER_ROOT": root]
        let log = live.directory + "/run-\(UUID().uuidString.prefix(6)).log"
        let process = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--json"], output: log, environment: environment)
        let started = await eventually(timeout: .seconds(60)) { lines().filter { $0.hasPrefix("start") }.count == 2 }
        try #require(started, "\((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(800) ?? "")")
        let id = try #require(GoliveBinary.runID(in: (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        process.signal(SIGKILL)
        #expect(process.wait() == 137)
        let orphans = lines().compactMap { Int32($0.dropFirst(6)) }
        #expect(orphans.count == 2 && orphans.allSatisfy { kill($0, 0) == 0 }, "the commands outlive their controller: \(lines())")

        let recovered = try golive.run(["resume", id, "--store", store] + (mode.isEmpty ? [] : [mode]), environment: environment)
        #expect(recovered.status == 0, "\(recovered.output.suffix(1500))")
        let events = try golive.timelineEvents(id, store: store)
        let stopped = events.filter { $0["kind"] as? String == "processStopped" }
        #expect(stopped.count == 2 && stopped.allSatisfy { ($0["message"] as? String)?.contains("on the controller") == true }, "\(stopped)")
        let resumedAt = try #require(events.firstIndex { $0["kind"] as? String == "runResumed" })
        let stoppedAt = try #require(events.lastIndex { $0["kind"] as? String == "processStopped" })
        let nextAction = try #require(events.indices.first { $0 > resumedAt && ["rollbackStepStarted", "stepStarted"].contains(events[$0]["kind"] as? String ?? "") })
        #expect(stoppedAt < nextAction)
        // Gone (a zombie of this test process, which reaps the children golive orphans, counts as gone).
        #expect(orphans.allSatisfy { kill($0, 0) != 0 || ChildProcess.isZombie($0) }, "the lost commands are gone")
        // The trace: the lost commands never finished; then the undo, or the step again, once per host.
        let after = lines()
        #expect(!after.contains { line in orphans.contains { line == "end \($0)" } }, "\(after)")
        if mode.isEmpty {
            #expect(after.filter { $0.hasPrefix("end") }.count == 2, "\(after)")
        } else {
            #expect(Set(after.filter { $0.hasPrefix("undo") }) == ["undo web1", "undo web2"], "\(after)")
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: root))?.isEmpty ?? true, "the controller's records are removed")
    }
}
