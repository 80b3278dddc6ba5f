import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// Several plays in one run, steps delegated to another host or the controller, and a rollback
/// that rolls: against real sshd hosts (four web hosts, a database server db1, a load balancer
/// lb1), their files compared after each run.
@Suite(.serialized) struct PlayTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4, tiers: true) }

    /// The balancer's action log and its enabled backends.
    func balancer() throws -> (actions: [String], backends: Set<String>) {
        let root = try #require(live.host("lb1")).root
        let actions = try String(contentsOfFile: root + "/etc/lb/actions.log", encoding: .utf8).split(separator: "\n").map(String.init)
        let backends = try String(contentsOfFile: root + "/etc/lb/backends", encoding: .utf8).split(separator: "\n").map(String.init)
        return (actions, Set(backends))
    }

    func schemaVersion() throws -> String {
        try String(contentsOfFile: try #require(live.host("db1")).appDirectory + "/schema/version", encoding: .utf8)
    }

    /// Two plays: the migration on db1, then the web hosts in batches of two, each drained on lb1
    /// before it changes and enabled after; `beforeEnable` lands just before the enable.
    func tiersPlaybook(beforeEnable: String = "") -> String {
        """
        name: tiers
        vars: { version: "2.0.0", migration: 42_add_invoices }
        plays:
          - id: migrate
            name: migrate the database
            hosts: database
            backup:
              - name: snapshot the schema
                archive: { path: "{{ app_dir }}/schema", to: "{{ app_dir }}/../backups/schema-{{ run.id }}.tgz" }
            deploy:
              - name: record the schema version
                shell: cat {{ app_dir }}/schema/version
                register: schema_before
                rollback: none
              - name: apply the migration
                shell: printf '%s\\n' {{ migration }} > {{ app_dir }}/schema/version
                rollback: backup
          - id: web
            name: roll the web hosts
            hosts: web
            serial: 2
            deploy:
              - name: previous
                shell: basename "$(readlink {{ app_dir }}/current)"
                register: previous
                rollback: none
              - name: drain
                shell: ( flock 9; grep -vxF -e {{ host.name }} {{ lb_backends }} > {{ lb_backends }}.new; mv {{ lb_backends }}.new {{ lb_backends }} && echo drain {{ host.name }} >> {{ lb_actions }} ) 9>> {{ lb_backends }}.lock
                delegate_to: lb1
                throttle: 1
                rollback: ( flock 9; grep -qxF -e {{ host.name }} {{ lb_backends }} || echo {{ host.name }} >> {{ lb_backends }}; echo enable {{ host.name }} >> {{ lb_actions }} ) 9>> {{ lb_backends }}.lock
              - name: release
                shell: mkdir -p {{ app_dir }}/releases/{{ version }} && echo ok {{ version }} > {{ app_dir }}/releases/{{ version }}/health
                rollback: rm -rf {{ app_dir }}/releases/{{ version }}
              - name: switch
                shell: ln -sfn releases/{{ version }} {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
                rollback: ln -sfn releases/{{ previous.stdout }} {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
              - name: schema seen
                shell: echo {{ plays.migrate.db1.schema_before.stdout }} > {{ app_dir }}/releases/{{ version }}/schema-before
                rollback: none
            \(beforeEnable)
              - name: enable
                shell: ( flock 9; grep -qxF -e {{ host.name }} {{ lb_backends }} || echo {{ host.name }} >> {{ lb_backends }}; echo enable {{ host.name }} >> {{ lb_actions }} ) 9>> {{ lb_backends }}.lock
                delegate_to: lb1
                throttle: 1
                rollback: ( flock 9; grep -vxF -e {{ host.name }} {{ lb_backends }} > {{ lb_backends }}.new; mv {{ lb_backends }}.new {{ lb_backends }} && echo drain {{ host.name }} >> {{ lb_actions }} ) 9>> {{ lb_backends }}.lock
        """
    }

    @Test func twoPlaysRunInOrderAndLaterPlaysReadEarlierPlaysResults() async throws {
        let path = try live.write(tiersPlaybook())
        let (outcome, events) = try await live.execute(path) { $0.forks = 1 }
        #expect(outcome.exitCode == 0, "\(outcome.reason ?? "") \(outcome.attention)")
        #expect(try schemaVersion() == "42_add_invoices\n")
        for name in ["web1", "web2", "web3", "web4"] {
            #expect(live.current(name) == "2.0.0")
            let file = try #require(live.host(name)).appDirectory + "/releases/2.0.0/schema-before"
            #expect(try String(contentsOfFile: file, encoding: .utf8) == "41_initial\n")
        }
        // The migration finished before any web host changed.
        let migrated = try #require(events.firstIndex { $0.kind == .stepFinished && $0.host == "db1" && $0.step == "migrate.deploy[1]" })
        let firstWeb = try #require(events.firstIndex { $0.kind == .stepStarted && $0.host?.hasPrefix("web") == true })
        #expect(migrated < firstWeb)
        #expect(events.filter { $0.kind == .batchStarted }.map(\.message) == ["migrate: db1", "web: web1, web2", "web: web3, web4"])
        let (actions, backends) = try balancer()
        #expect(actions == ["drain web1", "enable web1", "drain web2", "enable web2", "drain web3", "enable web3", "drain web4", "enable web4"])
        #expect(backends == ["web1", "web2", "web3", "web4"])
        // A delegated step's events are its host's, and say where it ran.
        let drain = try #require(events.first { $0.kind == .stepStarted && $0.host == "web2" && $0.stepName == "drain" })
        #expect(drain.command?.hasPrefix("(on lb1) ") == true)
        #expect(drain.stepDetails.delegateTo == "lb1")
        let info = try #require(events.first?.runStarted)
        #expect(info.playList.map(\.id) == ["migrate", "web"] && info.playList.map(\.batches) == [[1], [2, 3]])
    }

    @Test func aFailureInTheSecondPlayRollsTheWebHostsBackBatchByBatchThenTheMigration() async throws {
        let path = try live.write(
            tiersPlaybook(beforeEnable: "  - name: fails on web3\n        shell: test {{ host.name }} != web3\n        rollback: none"))
        let (outcome, events) = try await live.execute(path) { $0.forks = 1 }
        #expect(outcome.exitCode == 1, "\(outcome.reason ?? "")")
        #expect(outcome.result == .rolledBack, "\(outcome.attention)")
        // The hosts' files: every web host back on 1.0.0 without the new release, the schema restored.
        for name in ["web1", "web2", "web3", "web4"] {
            #expect(live.current(name) == "1.0.0")
            #expect(!FileManager.default.fileExists(atPath: try #require(live.host(name)).appDirectory + "/releases/2.0.0"))
        }
        #expect(try schemaVersion() == "41_initial\n")
        // The balancer was told, in order: the deploy, then the rollback of batch 2 (web3 failed
        // before its enable), then batch 1 — each host drained before it is put back, enabled after.
        let (actions, backends) = try balancer()
        #expect(
            actions == [
                "drain web1", "enable web1", "drain web2", "enable web2", "drain web3", "drain web4", "enable web4",
                "enable web3", "drain web4", "enable web4", "drain web1", "enable web1", "drain web2", "enable web2",
            ])
        #expect(backends == ["web1", "web2", "web3", "web4"])
        // The timeline: batch 2's hosts, then batch 1's, then the migration.
        let undos = events.filter { $0.kind == .rollbackStepStarted }.compactMap(\.host)
        let last34 = try #require(undos.lastIndex { $0 == "web3" || $0 == "web4" })
        let first12 = try #require(undos.firstIndex { $0 == "web1" || $0 == "web2" })
        let last12 = try #require(undos.lastIndex { $0 == "web1" || $0 == "web2" })
        let firstDB = try #require(undos.firstIndex { $0 == "db1" })
        #expect(last34 < first12 && last12 < firstDB)
        // db1 is rolled back for the migrate play only (its restore), and says so.
        let db = try #require(events.last { $0.kind == .rollbackHostFinished && $0.host == "db1" })
        #expect(db.rollbackHost?.play == "migrate")
        let phases = events.filter { $0.kind == .phaseStarted && $0.phase == .rollback }.compactMap(\.message)
        #expect(phases == ["play web, rollback batch 1 of 2: web3, web4", "play web, rollback batch 2 of 2: web1, web2", "play migrate, rollback batch 1 of 1: db1"])
    }

    /// A rollback that restarts each host's service (it stops serving while undone): rolled back
    /// batch by batch, at least N - serial hosts serve at every moment; all at once, none do.
    @Test(arguments: ["", "rollback_serial: 100%"])
    func aRollingRollbackKeepsHostsServing(_ rollbackSerial: String) async throws {
        let text = """
            name: rolling rollback
            hosts: web
            serial: 2
            \(rollbackSerial)
            vars: { version: "2.0.0" }
            deploy:
              - name: previous
                shell: basename "$(readlink {{ app_dir }}/current)"
                register: previous
                rollback: none
              - name: release
                shell: mkdir -p {{ app_dir }}/releases/{{ version }} && echo ok {{ version }} > {{ app_dir }}/releases/{{ version }}/health
                rollback: rm -rf {{ app_dir }}/releases/{{ version }}
              - name: switch
                shell: ln -sfn releases/{{ version }} {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
                # The service restarts onto the old release: it serves nothing for a second and a half.
                rollback: mv -T {{ app_dir }}/current {{ app_dir }}/current.down && sleep 1.5 && ln -sfn releases/{{ previous.stdout }} {{ app_dir }}/current && rm -f {{ app_dir }}/current.down
              - name: fails on web4
                shell: test {{ host.name }} != web4
                rollback: none
            health:
              interval: 200ms
              duration: 400ms
              probes:
                - http: { url: "http://{{ host.address }}:{{ http_port }}/health", status: 200, contains: ok, timeout: 1s }
            """
        let path = try live.write(text)
        let web = live.hosts.filter { $0.name.hasPrefix("web") }
        // Every 50 ms, how many web hosts answer /health: a monitor process of its own, so that the
        // controller's load does not decide what it sees (bounded: at most 4000 samples).
        let samples = live.directory + "/serving-\(UUID().uuidString).txt"
        let script = """
            import sys, time, http.client
            out = open(sys.argv[1], "w", buffering=1)
            targets = [(sys.argv[i], int(sys.argv[i + 1])) for i in range(2, len(sys.argv), 2)]
            for _ in range(4000):
                n = 0
                for address, port in targets:
                    try:
                        c = http.client.HTTPConnection(address, port, timeout=0.5)
                        c.request("GET", "/health")
                        r = c.getresponse()
                        r.read()
                        n += r.status == 200
                        c.close()
                    except Exception:
                        pass
                out.write("%d\\n" % n)
                time.sleep(0.05)
            """
        let monitor = Process()
        monitor.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        monitor.arguments = ["-c", script, samples] + web.flatMap { [$0.address, String($0.httpPort)] }
        try monitor.run()
        // The monitor sees every host serving before the run starts.
        #expect(await eventually(timeout: .seconds(10)) { (try? String(contentsOfFile: samples, encoding: .utf8))?.split(separator: "\n").last == "4" })
        let (outcome, events) = try await live.execute(path)
        // SIGKILL: the test process may ignore SIGTERM, and its children inherit that.
        kill(monitor.processIdentifier, SIGKILL)
        monitor.waitUntilExit()
        let counts = try String(contentsOfFile: samples, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }.drop { $0 < web.count }
        #expect(outcome.result == .rolledBack, "\(outcome.reason ?? "") \(outcome.attention)")
        #expect(web.allSatisfy { live.current($0.name) == "1.0.0" })
        let lowest = counts.min() ?? -1
        print("serving hosts during the run (\(rollbackSerial.isEmpty ? "rolling" : rollbackSerial)): min \(lowest) of \(web.count), \(counts.count) samples")
        if rollbackSerial.isEmpty {
            #expect(lowest >= web.count - 2, "counts: \(counts)")
            // A rolled-back batch's health is confirmed before the next batch is touched.
            let verified = try #require(events.lastIndex { $0.kind == .probeRound && $0.phase == .verify && ($0.host == "web3" || $0.host == "web4") })
            let nextBatch = try #require(events.firstIndex { $0.kind == .rollbackStepStarted && ($0.host == "web1" || $0.host == "web2") })
            #expect(verified < nextBatch)
        } else {
            #expect(lowest == 0, "counts: \(counts)")
        }
    }

    @Test func delegatedStepsRunWhereTheySayAndSoDoTheirRollbacks() async throws {
        let log = live.directory + "/places.log"
        let text = """
            name: places
            hosts: web
            vars: { log: \(log) }
            deploy:
              - name: on the controller
                shell: echo "do {{ host.name }} ${GOLIVE_LOCK_ROOT:-controller}" >> {{ log }}
                delegate_to: controller
                rollback: echo "undo {{ host.name }} ${GOLIVE_LOCK_ROOT:-controller}" >> {{ log }}
              - name: on the balancer
                shell: echo "do {{ host.name }} ${GOLIVE_LOCK_ROOT:-controller}" >> {{ log }}
                delegate_to: lb1
                rollback: echo "undo {{ host.name }} ${GOLIVE_LOCK_ROOT:-controller}" >> {{ log }}
              - name: fails
                shell: "false"
                rollback: none
            """
        let path = try live.write(text)
        let (outcome, _) = try await live.execute(path, configure: { $0.forks = 1 })
        #expect(outcome.result == .rolledBack, "\(outcome.attention)")
        let lb = try #require(live.host("lb1")).root + "/var/tmp/golive"
        // On the controller, a command's lock root is the run's record there (ControllerRecords).
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { line in
            String(line.replacing(/\/var\/tmp\/golive-controller\/\S+/, with: "controller"))
        }
        var expected: [String] = []
        for host in ["web1", "web2", "web3", "web4"] { expected += ["do \(host) controller", "do \(host) \(lb)"] }
        for host in ["web1", "web2", "web3", "web4"] { expected += ["undo \(host) \(lb)", "undo \(host) controller"] }
        #expect(lines == expected)
        // The balancer's lock was taken and released with the others'.
        #expect(!FileManager.default.fileExists(atPath: lb + "/lock"))
    }

    /// Hosts' delegated steps run side by side on the host they are delegated to (each over a
    /// connection of its own), unless `throttle` bounds them.
    @Test(arguments: [nil, 1] as [Int?]) func throttleBoundsHowManyHostsRunADelegatedStepAtOnce(_ throttle: Int?) async throws {
        let log = live.directory + "/overlap-\(throttle.map(String.init) ?? "none").log"
        let text = """
            name: throttled
            hosts: web
            vars: { log: \(log) }
            deploy:
              - name: on the balancer
                shell: echo in >> {{ log }}; sleep 0.6; echo out >> {{ log }}
                delegate_to: lb1
                rollback: none
                \(throttle.map { "throttle: \($0)" } ?? "")
            """
        let (outcome, _) = try await live.execute(try live.write(text))
        #expect(outcome.exitCode == 0, "\(outcome.reason ?? "")")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 8)
        // The most hosts inside the step at once.
        var inside = 0, most = 0
        for line in lines {
            inside += line == "in" ? 1 : -1
            most = max(most, inside)
        }
        if let throttle { #expect(most == throttle, "\(lines)") } else { #expect(most > 1, "\(lines)") }
    }

    @Test func aHostThatFailedInAnEarlierPlayIsLeftOutOfTheLaterOnes() async throws {
        let text = """
            name: left out
            plays:
              - id: a
                name: first
                hosts: web
                max_fail: 1
                deploy:
                  - shell: touch {{ app_dir }}/a-marker
                    rollback: rm -f {{ app_dir }}/a-marker
                  - shell: test {{ host.name }} != web2
                    rollback: none
              - id: b
                name: second
                hosts: web
                deploy:
                  - shell: touch {{ app_dir }}/b-marker
                    rollback: rm -f {{ app_dir }}/b-marker
            """
        let (outcome, events) = try await live.execute(try live.write(text))
        #expect(outcome.exitCode == 0, "\(outcome.reason ?? "")")
        for host in live.hosts where host.name.hasPrefix("web") {
            let changed = host.name != "web2"
            #expect(FileManager.default.fileExists(atPath: host.appDirectory + "/a-marker") == changed, "\(host.name)")
            #expect(FileManager.default.fileExists(atPath: host.appDirectory + "/b-marker") == changed, "\(host.name)")
        }
        #expect(events.contains { $0.kind == .batchStarted && $0.message == "b: web1, web3, web4 (left out, failed in an earlier play: web2)" })
        #expect(events.contains { $0.kind == .hostFailed && $0.host == "web2" && $0.phase == .deploy })
        #expect(outcome.hosts.first { $0.host == "web2" }?.state == .rolledBack)
    }

    @Test func aStepWithoutUndoIsNamedInTheReport() async throws {
        let text = """
            name: no undo
            hosts: web
            deploy:
              - name: touch a marker
                shell: touch {{ app_dir }}/marker
              - name: fails
                shell: "false"
                rollback: none
            """
        let path = try live.write(text)
        let play = try live.load(path)
        #expect(play.warnings.contains { "\($0)".contains("'touch a marker' changes the host and nothing undoes it") })
        let (outcome, events) = try await live.execute(path)
        #expect(outcome.result == .rolledBack)
        for report in outcome.hosts { #expect(report.detail.contains("not undone: 'touch a marker'"), "\(report.detail)") }
        #expect(events.filter { $0.kind == .rollbackHostFinished }.allSatisfy { $0.rollbackHost?.notUndoneList == ["touch a marker"] })
        // The hosts' files say the same: the marker is still there.
        #expect(live.hosts.filter { $0.name.hasPrefix("web") }.allSatisfy { FileManager.default.fileExists(atPath: $0.appDirectory + "/marker") })
    }
}
