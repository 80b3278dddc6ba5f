import Foundation
import GoliveTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The record tells the exact truth, and the operator is never sent down a dead end: every action
/// on the timeline, interrupted phases recorded as interrupted, counts that match what was done,
/// dead runs shown as such, and the right next command spelled in full.
@Suite(.serialized) struct RecordTruthTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    var store: String { live.directory + "/truth.sqlite" }

    init() throws { live = try LiveHosts(count: 2) }

    func events(_ id: String) throws -> [[String: Any]] { try golive.timelineEvents(id, store: store) }

    func runID(_ output: String) throws -> String {
        try #require(output.firstMatch(of: /Summary of run ([0-9a-z-]+)/).map { String($0.1) })
    }

    @Test func aLocalStepOfTheRollbackSectionIsOnTheTimeline() throws {
        let ledger = live.directory + "/lb.log"
        let play = try live.write(
            """
            name: lb rollback
            hosts: web1
            deploy:
              - shell: exit 3
            rollback:
              - name: enable in the load balancer
                local: echo "enable {{ host.name }}" >> \(ledger)
            """, name: "lb.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store])
        #expect(status == 1)
        #expect(try String(contentsOfFile: ledger, encoding: .utf8) == "enable web1\n")
        let recorded = try events(try runID(output)).filter { $0["stepName"] as? String == "enable in the load balancer" }
        #expect(recorded.map { $0["kind"] as? String } == ["rollbackStepStarted", "rollbackStepFinished"], "\(recorded)")
    }

    @Test func anInterruptedHealthWatchIsRecordedAsInterruptedWithHowFarItGot() async throws {
        let play = try live.write(
            """
            name: long watch
            hosts: web1
            deploy:
              - shell: "true"
            health:
              interval: 1s
              duration: 3s
              probes:
                - shell: "true"
            """, name: "watch.yml")
        let log = live.directory + "/watch.log"
        let run = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--json"], output: log)
        let firstRound = await eventually(timeout: .seconds(30)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"kind\":\"probeRound\"")
        }
        #expect(firstRound)
        run.signal(SIGINT)
        #expect(run.wait() == 130)
        let id = try #require(GoliveBinary.runID(in: try String(contentsOfFile: log, encoding: .utf8)))
        let all = try events(id)
        let health = try #require(all.first { $0["kind"] as? String == "phaseFinished" && $0["phase"] as? String == "health" })
        #expect(health["status"] as? String == "interrupted", "\(health)")
        #expect((health["message"] as? String)?.contains("of 3 round(s)") == true, "\(health)")
        let batch = try #require(all.first { $0["kind"] as? String == "batchFinished" })
        #expect(batch["status"] as? String == "interrupted", "\(batch)")
    }

    @Test func aFailedBackupIsReportedAsNothingUndone() throws {
        let play = try live.write(
            """
            name: failed backup
            hosts: web1
            backup:
              - archive: { path: "{{ app_dir }}/releases", to: "/proc/golive-cannot-write/r.tgz" }
            deploy:
              - shell: "true"
            """, name: "backup.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store])
        #expect(status == 1, "\(output.suffix(600))")
        #expect(output.contains("web1: rolled-back (nothing needed undoing)"), "\(output.suffix(600))")
        #expect(!output.contains("step(s) undone"))
    }

    @Test func aDeadControllersRunIsShownAsLostWithTheRightNextCommand() async throws {
        let play = try live.write(
            "name: slow\nhosts: web\ndeploy:\n  - shell: echo \"start $$\" >> {{ app_dir }}/../../trace; sleep 30\n    rollback: \"true\"\n",
            name: "slow.yml")
        let log = live.directory + "/dead.log"
        let run = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--json"], output: log)
        let started = await eventually(timeout: .seconds(30)) {
            FileManager.default.fileExists(atPath: live.host("web1")!.root + "/trace")
        }
        #expect(started)
        run.signal(SIGKILL)
        _ = run.wait()
        let id = try #require(GoliveBinary.runID(in: try String(contentsOfFile: log, encoding: .utf8)))
        let runs = try golive.run(["runs", "--store", store, "--json"]).output
        #expect(runs.contains("\"id\":\"\(id)\"") && runs.contains("\"controller_lost\":true") && runs.contains("\"status\":\"running\""), "\(runs)")
        #expect(try golive.run(["runs", "--store", store]).output.contains("controller lost?"))
        #expect(try golive.run(["watch", id, "--once", "--store", store]).output.contains("[controller lost?]"))
        // A new run is refused, and told the command that fits: the dead run changed hosts.
        let refused = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store])
        #expect(refused.status == 3 && refused.output.contains("golive resume \(id) --rollback --store \(store)"), "\(refused.output.suffix(600))")
        #expect(try golive.run(["resume", id, "--rollback", "--store", store]).status == 0)
    }

    @Test func aLockDirectoryThatCannotBeMadeSaysWhatFailedWhereAndWhy() throws {
        try live.sandbox.restart("web1", environment: ["GOLIVE_LOCK_ROOT": "/dev/null/golive"])
        defer { try? live.sandbox.restart("web1", environment: [:]) }
        let play = try live.write("name: l\nhosts: web1\ndeploy:\n  - shell: \"true\"\n", name: "lock.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store])
        #expect(status == 3, "\(output.suffix(500))")
        #expect(output.contains("cannot take the lock on web1") && output.contains("/dev/null/golive") && output.contains("Not a directory"), "\(output.suffix(500))")
        #expect(!output.contains("by run ?"))
    }

    @Test func aPathErrorOfAnUploadIsTheStepsFailureNotAConnectionState() throws {
        _ = try live.shell("echo x > \(live.directory)/f.txt")
        let play = try live.write(
            "name: u\nhosts: web1\ndeploy:\n  - upload: { src: f.txt, dest: /etc/hostname/inside }\n", name: "upload.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store, "--json"])
        #expect(status == 1, "\(output.suffix(500))")
        let finished = output.split(separator: "\n").filter { $0.contains("\"kind\":\"stepFinished\"") && $0.contains("\"host\":\"web1\"") }
        #expect(finished.count == 1 && finished[0].contains("\"status\":\"failed\"") && finished[0].contains("hostname") && finished[0].contains("(as "), "\(finished)")
        #expect(!output.contains("\"status\":\"unreachable\""))
    }

    @Test func watchShowsHostsNothingHappenedToAsPending() throws {
        let play = try live.write(
            "name: p\nhosts: web\nprechecks:\n  - shell: test {{ host.name }} = web1\ndeploy:\n  - shell: \"true\"\n", name: "pending.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store])
        #expect(status == 3)
        let screen = try golive.run(["watch", try runID(output), "--once", "--store", store]).output
        let rows = screen.split(separator: "\n").filter { $0.hasPrefix("web1 ") || $0.hasPrefix("web2 ") }
        #expect(rows.count == 2, "\(screen)")
        #expect(rows.first { $0.hasPrefix("web1") }?.contains("pending") == true, "\(rows)")
        #expect(rows.first { $0.hasPrefix("web2") }?.contains("failed") == true, "\(rows)")
        #expect(!rows.contains { $0.contains(" ok") }, "\(rows)")
    }

    @Test func theTitlePlansAndHintsSayWhatIsTrue() throws {
        let play = try live.write(
            """
            name: webapp {{ version }} go-live
            hosts: web
            vars: { version: "2.0.0" }
            backup:
              - name: once
                archive: { path: "{{ app_dir }}/releases", to: "{{ app_dir }}/../backups/once.tgz" }
                run_once: true
            deploy:
              - shell: "true"
            """, name: "titled.yml")
        // The title is rendered like any other string.
        #expect(try golive.run(["run", play, "-i", live.inventoryPath, "--store", store, "-e", "version=3.1.4"]).status == 0)
        #expect(try golive.run(["runs", "--store", store]).output.contains("webapp 3.1.4 go-live"))
        // A run_once backup is planned on the first host only.
        let document = try golive.run(["plan", play, "-i", live.inventoryPath, "--format", "md"]).output
        #expect(document.contains("web1 only (run_once)"), "\(document)")
        // The plan names the whole command that runs exactly it, -e values included.
        let text = try golive.run(["plan", play, "-i", live.inventoryPath, "-e", "version=9.9.9"]).output
        #expect(text.contains("golive run \(play) -i \(live.inventoryPath) -e version=9.9.9 --expect-plan "), "\(text.prefix(400))")
        // A name from Ansible gets the golive name as a hint.
        let ansible = try live.write("name: a\nhosts: web1\ndeploy:\n  - shell: echo {{ inventory_hostname }}\n", name: "ansible.yml")
        let hint = try golive.run(["validate", ansible, "-i", live.inventoryPath]).output
        #expect(hint.contains("ansible.yml:4:") && hint.contains("golive calls it {{ host.name }}"), "\(hint)")
    }
}
