import Foundation
import GoliveTestSupport
import System
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Recovery never races: a lost controller's commands are stopped before anything else is done,
/// a live controller is never recovered under its feet, and a recovery with changed files or a
/// value it cannot have refuses instead of doing the wrong thing. Real sshd hosts, the real binary.
@Suite(.serialized) struct RecoverySafetyTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    var store: String { live.directory + "/store.sqlite" }

    init() throws { live = try LiveHosts(count: 2) }

    func trace(_ host: String) -> String {
        (try? String(contentsOfFile: live.host(host)!.root + "/trace", encoding: .utf8)) ?? ""
    }

    /// A release 2.0.0 made, then a slow switch that traces its start and end on the host.
    func slowSwitch(seconds: Int, prechecks: String = "", window: String = "") throws -> String {
        try live.write(
            """
            name: slow switch
            hosts: web
            serial: 2
            \(window)
            \(prechecks)
            deploy:
              - name: previous
                shell: basename "$(readlink {{ app_dir }}/current)"
                register: previous
              - name: release
                shell: mkdir -p {{ app_dir }}/releases/2.0.0 && echo ok > {{ app_dir }}/releases/2.0.0/health
                rollback: rm -rf {{ app_dir }}/releases/2.0.0
              - name: switch
                shell: echo "start $$" >> {{ app_dir }}/../../trace; sleep \(seconds); ln -sfn releases/2.0.0 {{ app_dir }}/current; echo "end $$" >> {{ app_dir }}/../../trace
                rollback: ln -sfn releases/{{ previous.stdout }} {{ app_dir }}/current
            """, name: "slow-\(UUID().uuidString.prefix(6)).yml")
    }

    /// Starts a run in the background; returns it, its log and its id once `ready` holds.
    func start(_ play: String, extra: [String] = [], ready: @escaping @Sendable () -> Bool) async throws
        -> (process: ChildProcess, log: String, id: String)
    {
        let log = live.directory + "/run-\(UUID().uuidString.prefix(6)).log"
        let process = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--json"] + extra, output: log)
        let started = await eventually(timeout: .seconds(60)) { ready() }
        try #require(started, "the run did not get there: \((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(800) ?? "")")
        let id = try #require(GoliveBinary.runID(in: (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        return (process, log, id)
    }

    func timeline(_ id: String) throws -> [[String: Any]] { try golive.timelineEvents(id, store: store) }

    func expectNoGap(_ id: String) throws {
        let sequence = try timeline(id).compactMap { $0["sequence"] as? Int }
        #expect(sequence == Array(1...max(1, sequence.count)), "gaps in \(sequence)")
    }

    /// The pid in a trace's last `start` line.
    func startedPID(_ host: String) -> Int32? {
        trace(host).split(separator: "\n").last { $0.hasPrefix("start ") }.flatMap { Int32($0.dropFirst(6)) }
    }

    @Test func theLostControllersCommandIsStoppedBeforeTheRollback() async throws {
        let play = try slowSwitch(seconds: 6)
        let trace = self.trace
        let run = try await start(play) { trace("web1").contains("start") && trace("web2").contains("start") }
        run.process.signal(SIGKILL)
        #expect(run.process.wait() == 137)
        let orphans = ["web1", "web2"].compactMap(startedPID)
        #expect(orphans.count == 2 && orphans.allSatisfy { kill($0, 0) == 0 }, "the remote commands outlive their controller")
        let recovered = try golive.run(["resume", run.id, "--rollback", "--store", store])
        #expect(recovered.status == 0, "\(recovered.output.suffix(1500))")
        // Stopped, and on the timeline, before the rollback ran.
        let events = try timeline(run.id)
        let stopped = events.filter { $0["kind"] as? String == "processStopped" }
        #expect(Set(stopped.compactMap { $0["host"] as? String }) == ["web1", "web2"], "\(stopped)")
        let firstUndo = try #require(events.firstIndex { $0["kind"] as? String == "rollbackStepStarted" })
        #expect(events.lastIndex { $0["kind"] as? String == "processStopped" }! < firstUndo)
        #expect(orphans.allSatisfy { kill($0, 0) != 0 }, "the orphaned commands are gone")
        for host in ["web1", "web2"] {
            #expect(live.current(host) == "1.0.0")
            #expect(!self.trace(host).contains("end"), "\(host): the orphan went on to switch")
            #expect(!FileManager.default.fileExists(atPath: live.host(host)!.appDirectory + "/releases/2.0.0"))
        }
        try expectNoGap(run.id)
    }

    @Test func aResumeNeverRunsAStepTwiceAtOnce() async throws {
        let play = try slowSwitch(seconds: 4)
        let trace = self.trace
        let run = try await start(play) { trace("web1").contains("start") && trace("web2").contains("start") }
        run.process.signal(SIGKILL)
        _ = run.process.wait()
        let resumed = try golive.run(["resume", run.id, "--store", store, "--yes"])
        #expect(resumed.status == 0, "\(resumed.output.suffix(1500))")
        for host in ["web1", "web2"] {
            #expect(live.current(host) == "2.0.0")
            // The first copy was stopped before the second started: starts and ends never overlap.
            let lines = self.trace(host).split(separator: "\n").map(String.init)
            #expect(lines.count == 3 && lines[0].hasPrefix("start") && lines[1].hasPrefix("start") && lines[2].hasPrefix("end"), "\(host): \(lines)")
            #expect(lines[2].dropFirst(4) == lines[1].dropFirst(6), "\(host): the copy that ended is the second one")
        }
        try expectNoGap(run.id)
    }

    @Test func aStoppedControllerIsNotRecoveredUnderItsFeetAndIsFencedOutWhenTakenOver() async throws {
        let play = try slowSwitch(seconds: 10)
        let trace = self.trace
        let run = try await start(play, extra: ["--lease", "2s"]) { trace("web1").contains("start") && trace("web2").contains("start") }
        run.process.signal(SIGSTOP)
        defer { run.process.signal(SIGCONT) }
        // Fresh lease: refused, with or without --force.
        let early = try golive.run(["resume", run.id, "--store", store, "--force"])
        #expect(early.status == 3 && early.output.contains("still alive"), "\(early.output.suffix(600))")
        let rollback = try golive.run(["rollback", run.id, "--store", store])
        #expect(rollback.status == 3, "\(rollback.output.suffix(600))")
        // The lease runs out; the stopped process is still there: refused without --force.
        let stale = await eventually(timeout: .seconds(10)) {
            ((try? golive.run(["resume", run.id, "--store", store])) ?? (0, "")).output.contains("may still act")
        }
        #expect(stale)
        #expect(live.current("web1") == "1.0.0" && live.current("web2") == "1.0.0")
        // Taken over on purpose: the recovery rolls back, and the woken controller is fenced out.
        let forced = try golive.run(["resume", run.id, "--rollback", "--store", store, "--force"])
        #expect(forced.status == 0, "\(forced.output.suffix(1500))")
        run.process.signal(SIGCONT)
        let original = run.process.wait()
        #expect(original == 4, "the fenced controller exits 4: \((try? String(contentsOfFile: run.log, encoding: .utf8))?.suffix(800) ?? "")")
        let log = try String(contentsOfFile: run.log, encoding: .utf8)
        #expect(log.contains("lost the run"), "\(log.suffix(800))")
        for host in ["web1", "web2"] {
            #expect(live.current(host) == "1.0.0", "\(host)")
            #expect(!self.trace(host).contains("end"), "\(host): the stopped controller's command went on")
        }
        let events = try timeline(run.id)
        #expect(events.contains { ($0["message"] as? String)?.contains("--force") == true })
        #expect((try golive.run(["runs", "--store", store, "--json"])).output.contains("\"status\":\"rolled-back\""))
        try expectNoGap(run.id)
    }

    @Test func unlockRefusesAFreshLeaseAndAForcedUnlockFencesTheRun() async throws {
        let play = try slowSwitch(seconds: 4)
        let trace = self.trace
        let run = try await start(play, extra: ["--lease", "30s"]) { trace("web1").contains("start") }
        let refused = try golive.run(["unlock", "sandbox", "--reason", "testing", "--store", store, "-i", live.inventoryPath])
        #expect(refused.status == 3 && refused.output.contains("live run"), "\(refused.output.suffix(600))")
        let forced = try golive.run(["unlock", "sandbox", "--reason", "testing", "--force", "--store", store, "-i", live.inventoryPath])
        #expect(forced.status == 0, "\(forced.output.suffix(600))")
        // The run can record and change nothing more: it stops, exit 4, and no second run ever
        // shares the hosts with it.
        #expect(run.process.wait() == 4)
        let events = try timeline(run.id)
        #expect(events.contains { $0["kind"] as? String == "lockReleased" && ($0["message"] as? String)?.contains("--force") == true })
        try expectNoGap(run.id)
    }

    @Test func aResumeRunsThePrechecksAgainAndStopsPastTheRollbackPoint() async throws {
        // Killed while the pre-checks run: the resume runs them again, and they refuse.
        let flag = live.directory + "/precheck-ran"
        let failing = try slowSwitch(
            seconds: 1,
            prechecks: "prechecks:\n  - name: slow and failing\n    shell: touch \(flag)-{{ host.name }}; sleep 3; exit 1")
        let run = try await start(failing) { FileManager.default.fileExists(atPath: "\(flag)-web1") }
        run.process.signal(SIGKILL)
        _ = run.process.wait()
        let resumed = try golive.run(["resume", run.id, "--store", store, "--yes"])
        #expect(resumed.status == 3, "\(resumed.output.suffix(800))")
        #expect(resumed.output.contains("pre-checks failed"))
        #expect(live.current("web1") == "1.0.0" && live.current("web2") == "1.0.0")
        #expect(!self.trace("web1").contains("start"))

        // Killed mid-step, resumed once the window's rollback point has passed: refused, and a
        // rollback is what it offers.
        let formatter = ISO8601DateFormatter()
        let now = Date()
        let window = "window:\n  start: \(formatter.string(from: now.addingTimeInterval(-60)))\n  end: \(formatter.string(from: now.addingTimeInterval(9)))\n  rollback_reserve: 4s"
        let timed = try slowSwitch(seconds: 30, window: window)
        let trace = self.trace
        let late = try await start(timed) { trace("web1").contains("start") }
        late.process.signal(SIGKILL)
        _ = late.process.wait()
        let point = now.addingTimeInterval(5)
        if Date() < point { try await Task.sleep(for: .seconds(point.timeIntervalSinceNow + 0.2)) }  // the window's rollback point, a wall-clock time
        let refused = try golive.run(["resume", late.id, "--store", store, "--yes"])
        #expect(refused.status == 3 && refused.output.contains("rollback point") && refused.output.contains("--rollback"), "\(refused.output.suffix(800))")
        let back = try golive.run(["resume", late.id, "--rollback", "--store", store])
        #expect(back.status == 0, "\(back.output.suffix(800))")
        #expect(live.current("web1") == "1.0.0" && live.current("web2") == "1.0.0")
    }

    @Test func aRecoveryWithAChangedPlaybookRefusesAndTouchesNothing() async throws {
        let play = try slowSwitch(seconds: 30)
        let trace = self.trace
        let run = try await start(play) { trace("web1").contains("start") && trace("web2").contains("start") }
        run.process.signal(SIGKILL)
        _ = run.process.wait()
        // A step inserted at the top whose rollback would delete the live release.
        let text = try String(contentsOfFile: play, encoding: .utf8)
        try text.replacingOccurrences(
            of: "deploy:\n", with: "deploy:\n  - name: inserted\n    shell: \"true\"\n    rollback: rm -rf {{ app_dir }}/releases/1.0.0\n"
        ).write(toFile: play, atomically: true, encoding: .utf8)
        let refused = try golive.run(["resume", run.id, "--rollback", "--store", store])
        #expect(refused.status == 3, "\(refused.output.suffix(800))")
        #expect(refused.output.contains("changed since run") && refused.output.contains("nothing was touched"), "\(refused.output.suffix(800))")
        for host in ["web1", "web2"] {
            #expect(FileManager.default.fileExists(atPath: live.host(host)!.appDirectory + "/releases/1.0.0/health"))
        }
        // With the playbook as it was, the rollback goes through.
        try text.write(toFile: play, atomically: true, encoding: .utf8)
        let back = try golive.run(["resume", run.id, "--rollback", "--store", store])
        #expect(back.status == 0, "\(back.output.suffix(800))")
        #expect(live.current("web1") == "1.0.0" && live.current("web2") == "1.0.0")
    }

    @Test func aRollbackNeedingARedactedValueRefusesInsteadOfWritingTheMark() async throws {
        let web1 = try #require(live.host("web1"))
        let config = web1.appDirectory + "/app.conf"
        try "db_password=hunter2-secret\n".write(toFile: config, atomically: true, encoding: .utf8)
        let inventory = try String(contentsOfFile: live.inventoryPath, encoding: .utf8)
            + "secrets:\n  db_password: { env: GOLIVE_TEST_DB_PASSWORD }\n"
        let secretInventory = live.directory + "/secret-inventory.yml"
        try inventory.write(toFile: secretInventory, atomically: true, encoding: .utf8)
        let play = try live.write(
            """
            name: config with a secret
            hosts: web1
            deploy:
              - name: read config
                shell: cat {{ app_dir }}/app.conf
                register: old
              - name: rewrite
                shell: echo "db_password={{ db_password | raw }}-new" > {{ app_dir }}/app.conf; echo "start $$" >> {{ app_dir }}/../../trace; sleep 30
                rollback: printf '%s\\n' {{ old.stdout }} > {{ app_dir }}/app.conf
            """, name: "secret.yml")
        let log = live.directory + "/secret.log"
        let environment = ["GOLIVE_TEST_DB_PASSWORD": "hunter2-secret"]
        let process = try golive.start(["run", play, "-i", secretInventory, "--store", store, "--json"], output: log, environment: environment)
        let trace = self.trace
        #expect(await eventually(timeout: .seconds(60)) { trace("web1").contains("start") })
        process.signal(SIGKILL)
        _ = process.wait()
        let id = try #require(GoliveBinary.runID(in: try String(contentsOfFile: log, encoding: .utf8)))
        let recovered = try golive.run(["resume", id, "--rollback", "--store", store], environment: environment)
        #expect(recovered.status == 4, "\(recovered.output.suffix(800))")
        #expect(recovered.output.contains("web1") && recovered.output.contains("rewrite") && recovered.output.contains("old.stdout"), "\(recovered.output.suffix(800))")
        let after = try String(contentsOfFile: config, encoding: .utf8)
        #expect(!after.contains("••••"), "the redaction mark was written into the file: \(after)")
        #expect(!recovered.output.contains("hunter2-secret"))
    }

    @Test func runOnceResultsAreRebuiltForTheRecoveredRollback() async throws {
        let play = try live.write(
            """
            name: run once recovered
            hosts: web
            deploy:
              - name: previous
                shell: basename "$(readlink {{ app_dir }}/current)"
                register: prev
                run_once: true
              - name: switch
                shell: ln -sfn releases/2.0.0 {{ app_dir }}/current; echo "start $$" >> {{ app_dir }}/../../trace; sleep 30
                rollback: ln -sfn releases/{{ prev.stdout }} {{ app_dir }}/current
            """, name: "run-once.yml")
        _ = try live.shell("for h in \(live.hosts.map(\.appDirectory).joined(separator: " ")); do mkdir -p $h/releases/2.0.0; done")
        let trace = self.trace
        let run = try await start(play) { trace("web1").contains("start") && trace("web2").contains("start") }
        run.process.signal(SIGKILL)
        _ = run.process.wait()
        let recovered = try golive.run(["resume", run.id, "--rollback", "--store", store])
        #expect(recovered.status == 0, "\(recovered.output.suffix(1200))")
        #expect(live.current("web1") == "1.0.0" && live.current("web2") == "1.0.0")
    }

    @Test func theSameServerUnderTwoNamesCannotBeChangedTwiceAtOnce() async throws {
        // Another team's inventory names web1 differently; its own store, its own environment.
        let aliasInventory = live.directory + "/alias.yml"
        try String(contentsOfFile: live.inventoryPath, encoding: .utf8)
            .replacingOccurrences(of: "environment: sandbox", with: "environment: other-team")
            .replacingOccurrences(of: "      web1:", with: "      web1-alias:")
            .write(toFile: aliasInventory, atomically: true, encoding: .utf8)
        let play = try slowSwitch(seconds: 4)
        let trace = self.trace
        let first = try await start(play) { trace("web1").contains("start") }
        let second = try golive.run(["run", play, "-i", aliasInventory, "--store", live.directory + "/other.sqlite", "--limit", "web1-alias"])
        #expect(second.status == 3, "\(second.output.suffix(800))")
        #expect(second.output.contains("locked on web1-alias by run \(first.id)"), "\(second.output.suffix(800))")
        #expect(first.process.wait() == 0)
        #expect(self.trace("web1").split(separator: "\n").count == 2)
    }

    @Test func aLocalStepIsUndoneOnTheController() throws {
        let ledger = live.directory + "/lb.log"
        let play = try live.write(
            """
            name: drain on the controller
            hosts: web
            serial: 2
            deploy:
              - name: drain
                local: echo "drain {{ host.name }}" >> \(ledger)
                rollback: echo "enable {{ host.name }}" >> \(ledger)
              - name: break
                shell: exit 3
            """, name: "local.yml")
        let result = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store])
        #expect(result.status == 1, "\(result.output.suffix(800))")
        let lines = Set(try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").map(String.init))
        #expect(lines == ["drain web1", "drain web2", "enable web1", "enable web2"], "\(lines)")
    }
}

/// A connection that drops mid-step leaves the step's command running on the server: the rollback
/// stops it (as the login, or through its escalation) before it undoes anything, through either transport.
@Suite(.serialized) struct DroppedConnectionTests {
    let golive = GoliveBinary()

    @Test(arguments: ["libssh2", "openssh"])
    func aDroppedConnectionsCommandIsStoppedBeforeTheRollbackUndoes(_ transport: String) async throws {
        let live = try LiveHosts(count: 1, login: LiveHosts.productionLogin, transport: transport)
        defer { live.stop() }
        let store = live.directory + "/store.sqlite"
        let host = try #require(live.host("web1"))
        let seconds = transport == "libssh2" ? "3191" : "3192"
        let play = try live.write(
            """
            name: dropped
            hosts: web1
            become: true
            deploy:
              - name: marker
                shell: touch {{ app_dir }}/config/marker
                rollback: rm -f {{ app_dir }}/config/marker
              - name: long
                shell: sleep \(seconds); touch {{ app_dir }}/config/finished
                rollback: none
            """)
        let log = live.directory + "/dropped.log"
        let run = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--yes", "--reconnect-deadline", "20s"], output: log)
        #expect(await eventually(timeout: .seconds(30)) { !BecomeCommandTests.processes(["sleep", seconds]).isEmpty })
        // Every session of the host's sshd dies (its monitor and the login's process under it), as if
        // the network dropped them; the listener stays.
        _ = try HostTools.sh("for p in $(pgrep -P \(host.sshdPID)); do pkill -KILL -P $p; kill -KILL $p; done; true")
        let status = run.wait()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 1, "\(output.suffix(2000))")
        #expect(BecomeCommandTests.processes(["sleep", seconds]).isEmpty, "the dropped step's command outlived the rollback")
        #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/config/marker"), "\(output.suffix(1500))")
        #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/config/finished"))
        let id = try #require(BecomeCommandTests.runID(output))
        let events = try golive.timelineEvents(id, store: store)
        #expect(events.contains { $0["kind"] as? String == "processStopped" }, "\(events.compactMap { $0["message"] as? String }.suffix(12))")
    }
}
