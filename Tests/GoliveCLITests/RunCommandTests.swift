import Foundation
import GoliveTestSupport
import System
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `golive` binary end to end against real sshd hosts: exit codes, signals, the journal.
@Suite(.serialized) struct RunCommandTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    var store: String { live.directory + "/store.sqlite" }
    var playbook: String { golive.root + "/playbooks/webapp.yml" }

    init() throws { live = try LiveHosts(count: 4) }

    private func all(_ release: String) -> Bool { ["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) == release } }

    /// The example web deploy with an extra step before the switch that runs `command`.
    private func webapp(pausingWith command: String, name: String) throws -> String {
        try live.write(
            try String(contentsOfFile: playbook, encoding: .utf8)
                .replacingOccurrences(of: "  - name: switch current", with: "  - name: wait\n    shell: \(command)\n  - name: switch current")
                .replacingOccurrences(of: "files/webapp/", with: golive.root + "/playbooks/files/webapp/"),
            name: name)
    }

    private func events(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func invalidInputExitsTwoWithTheLocationAndTouchesNothing() throws {
        let bad = try live.write("name: x\nhosts: web\ndeploy:\n  - shell: echo {{ nope }}\n    timeout: 5 minutes\n", name: "bad.yml")
        let (status, output) = try golive.run(["run", bad, "-i", live.inventoryPath, "--store", store])
        #expect(status == 2)
        #expect(output.contains("bad.yml:5:14: error: deploy[0].timeout: '5 minutes' is not a duration"))
        #expect(output.contains("bad.yml:4:20: error: deploy[0].shell: undefined variable 'nope'"))
        #expect(!FileManager.default.fileExists(atPath: store))
    }

    /// Ctrl-C, or the terminal going away (SIGHUP), stops the run in order and rolls every host back.
    @Test(arguments: [SIGINT, SIGHUP])
    func aSignalDuringTheSecondBatchRollsBackEveryHostAndExits130(_ number: Int32) async throws {
        let play = try webapp(pausingWith: "test {{ host.name }} = web1 -o {{ host.name }} = web2 || sleep 30", name: "paused-\(number).yml")
        let log = live.directory + "/signal-\(number).log"
        let process = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--json"], output: log)
        let reached = await eventually(timeout: .seconds(60)) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.contains("\"stepName\":\"wait\"") && text.contains("\"host\":\"web3\"") && text.contains("\"kind\":\"stepStarted\"")
                && text.range(of: #""batch":2"#) != nil
        }
        #expect(reached)
        process.signal(number)
        let status = process.wait()
        #expect(status == 130)
        #expect(all("1.0.0"))
        let output = try String(contentsOfFile: log, encoding: .utf8)
        #expect(try events(output).contains { $0["kind"] as? String == "rollbackStarted" && $0["status"] as? String == "interrupted" })
    }

    @Test func abandoningARollbackNeedsTwoMoreCtrlCsAndResumeFinishesIt() async throws {
        // A slow rollback of the switch, and a long step after it to interrupt.
        let play = try live.write(
            try String(contentsOfFile: playbook, encoding: .utf8)
                .replacingOccurrences(of: "    rollback: ln -sfn", with: "    rollback: sleep 2 && ln -sfn")
                .replacingOccurrences(of: "\nhealth:", with: "  - name: hold\n    shell: sleep 30\n\nhealth:")
                .replacingOccurrences(of: "files/webapp/", with: golive.root + "/playbooks/files/webapp/"),
            name: "abandon.yml")
        let log = live.directory + "/abandon.log"
        let process = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--json"], output: log)
        let holding = await eventually(timeout: .seconds(60)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"stepName\":\"hold\"")
        }
        #expect(holding)
        process.signal(SIGINT)
        let rollingBack = await eventually(timeout: .seconds(30)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"kind\":\"rollbackStepStarted\"")
        }
        #expect(rollingBack)
        process.signal(SIGINT)
        try await Task.sleep(for: .milliseconds(300))
        process.signal(SIGINT)
        #expect(process.wait() == 4)
        let output = try String(contentsOfFile: log, encoding: .utf8)
        #expect(output.contains("rollback abandoned by the operator"))
        let id = try #require(try events(output).lazy.compactMap { $0["runID"] as? String }.first)
        let (status, resumed) = try golive.run(["resume", id, "--rollback", "--store", store])
        #expect(status == 0, "\(resumed.suffix(800))")
        #expect(all("1.0.0"))
    }

    @Test func aKilledControllerIsRolledBackFromTheJournal() async throws {
        let log = live.directory + "/kill.log"
        let slow = try webapp(pausingWith: "sleep 30", name: "paused-2.yml")
        let process = try golive.start(["run", slow, "-i", live.inventoryPath, "--store", store, "--json"], output: log)
        let reached = await eventually(timeout: .seconds(60)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"stepName\":\"wait\"")
        }
        #expect(reached)
        process.signal(SIGKILL)
        process.wait()
        // The killed run left web1/web2 half-changed (3.0.0 dir created, current untouched) and the lock held.
        let runs = try golive.run(["runs", "--store", store, "--json"])
        let id = try #require(try events(runs.output).first?["id"] as? String)
        let refused = try golive.run(["run", playbook, "-i", live.inventoryPath, "--store", store])
        #expect(refused.status == 3)
        #expect(refused.output.contains("locked by run \(id)"))
        let (status, output) = try golive.run(["resume", id, "--rollback", "--store", store])
        #expect(status == 0, "\(output)")
        #expect(all("1.0.0"))
        for name in ["web1", "web2"] {
            #expect(!FileManager.default.fileExists(atPath: try #require(live.host(name)).appDirectory + "/releases/2.0.0"))
        }
        let timeline = try golive.run(["timeline", id, "--store", store, "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(timeline.output.utf8)) as? [String: Any])
        let list = try #require(document["events"] as? [[String: Any]])
        let started = list.filter { $0["kind"] as? String == "stepStarted" }.count
        let ended = list.filter { ["stepFinished", "controllerLost"].contains($0["kind"] as? String ?? "") }.count
        #expect(started == ended)
        #expect(list.contains { $0["kind"] as? String == "controllerLost" })
        #expect((document["run"] as? [String: Any])?["status"] as? String == "rolled-back")
        let integrity = try HostTools.output("/usr/bin/sqlite3", [store, "PRAGMA integrity_check"])
        #expect(integrity.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    }

    @Test func twoControllersWithTwoStoresCannotGoLiveAtOnce() async throws {
        let slow = try webapp(pausingWith: "sleep 8", name: "paused-3.yml")
        let log = live.directory + "/first.log"
        let first = try golive.start(["run", slow, "-i", live.inventoryPath, "--store", live.directory + "/laptop1.sqlite", "--json"], output: log)
        let running = await eventually(timeout: .seconds(60)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"stepName\":\"wait\"")
        }
        #expect(running)
        let second = try golive.run(["run", playbook, "-i", live.inventoryPath, "--store", live.directory + "/laptop2.sqlite"])
        #expect(second.status == 3)
        let firstID = try #require(try events(String(contentsOfFile: log, encoding: .utf8)).lazy.compactMap { $0["runID"] as? String }.first)
        #expect(second.output.contains("locked on web") && second.output.contains("by run \(firstID)"))
        // A third controller that is willing to wait gets the lock once the first is done.
        let waiting = try golive.start(
            ["run", playbook, "-i", live.inventoryPath, "--store", live.directory + "/laptop3.sqlite", "--lock-wait", "2m", "-e", "version=2.0.1", "--json"],
            output: live.directory + "/third.log")
        #expect(first.wait() == 0)
        #expect(waiting.wait() == 0)
        #expect(all("2.0.1"))
        // Released at the end: the second laptop can go now.
        let third = try golive.run(["run", playbook, "-i", live.inventoryPath, "--store", live.directory + "/laptop2.sqlite", "-e", "version=2.1.0"])
        #expect(third.status == 0, "\(third.output)")
    }

    @Test func unlockReleasesAStaleLockAndRecordsIt() async throws {
        let log = live.directory + "/stale.log"
        let slow = try webapp(pausingWith: "sleep 30", name: "paused-4.yml")
        let process = try golive.start(["run", slow, "-i", live.inventoryPath, "--store", store, "--json"], output: log)
        _ = await eventually(timeout: .seconds(60)) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"stepName\":\"wait\"") }
        process.signal(SIGKILL)
        process.wait()
        let id = try #require(try events(String(contentsOfFile: log, encoding: .utf8)).lazy.compactMap { $0["runID"] as? String }.first)
        let refused = try golive.run(["run", playbook, "-i", live.inventoryPath, "--store", store])
        #expect(refused.status == 3)
        // The dead run changed hosts: unlocking without putting them back is refused, with the way out.
        let refusedUnlock = try golive.run(["unlock", "sandbox", "--reason", "controller died", "-i", live.inventoryPath, "--store", store])
        #expect(refusedUnlock.status == 3)
        #expect(refusedUnlock.output.contains("golive resume \(id) --rollback"), "\(refusedUnlock.output)")
        let unlock = try golive.run(["unlock", "sandbox", "--reason", "controller died", "--force", "-i", live.inventoryPath, "--store", store])
        #expect(unlock.status == 0, "\(unlock.output)")
        #expect(unlock.output.contains("held by run \(id)"))
        #expect(unlock.output.contains("web1: released (run=\(id))"))
        let timeline = try golive.run(["timeline", id, "--store", store])
        #expect(timeline.output.contains("lockReleased") && timeline.output.contains("controller died"))
        _ = try golive.run(["resume", id, "--rollback", "--store", store])
        #expect(all("1.0.0"))
    }

    @Test func theJSONStreamAndThePlainLinesMatchTheTimeline() throws {
        let streamed = try golive.run(["run", playbook, "-i", live.inventoryPath, "--store", store, "--json"])
        #expect(streamed.status == 0)
        let lines = try events(streamed.output)
        let id = try #require(lines.lazy.compactMap { $0["runID"] as? String }.first)
        let stored = try golive.timelineEvents(id, store: store)
        let key = { (event: [String: Any]) in "\(event["sequence"] ?? "")|\(event["kind"] ?? "")|\(event["host"] ?? "")|\(event["step"] ?? "")|\(event["status"] ?? "")" }
        #expect(lines.map(key) == stored.map(key))
        // Without a terminal: one timestamped line per step, and the summary.
        let plain = try golive.run(["run", playbook, "-i", live.inventoryPath, "--store", store, "-e", "version=2.0.2"])
        #expect(plain.status == 0)
        let stepLines = plain.output.split(separator: "\n").filter { $0.contains(" ✓ '") }
        #expect(stepLines.count == 4 * 8)  // per host: 2 pre-checks, 1 backup, 5 deploy steps
        #expect(plain.output.contains("Summary of run") && !plain.output.contains("\u{1B}["))
    }

    @Test func secretsAppearNowhereInTheStoreOrTheConsole() throws {
        let secret = "s3cr3t-\(UInt32.random(in: 100_000...999_999))"
        let inventory = try String(contentsOfFile: live.inventoryPath, encoding: .utf8) + "secrets:\n  token: { env: TEST_TOKEN }\n"
        let inventoryPath = try live.write(inventory, name: "secret-inventory.yml")
        let play = try live.write(
            """
            name: secret handling
            hosts: web1
            deploy:
              - name: echo it
                shell: echo token={{ token }}
              - name: fail with it
                shell: echo "bad {{ token | raw }}" >&2; exit 3
            """, name: "secret.yml")
        let (status, output) = try golive.run(
            ["run", play, "-i", inventoryPath, "--store", store, "--json"], environment: ["TEST_TOKEN": secret])
        #expect(status == 1)
        #expect(!output.contains(secret))
        #expect(output.contains("token=••••") || output.contains("token='••••'"))
        for file in [store, store + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds the secret")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: store)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // Every way the run can be shown or reported afterwards: no secret, the mark instead.
        let renderings: [[String]] = [
            ["timeline", "--store", store], ["timeline", "--store", store, "--format", "json"],
            ["timeline", "--store", store, "--format", "html"], ["report", "--store", store, "--format", "md"],
            ["report", "--store", store, "--format", "html"], ["watch", "--once", "--store", store],
            ["runs", "--store", store, "--json"], ["plan", play, "-i", inventoryPath, "--store", store, "--format", "md"],
            ["plan", play, "-i", inventoryPath, "--store", store, "--format", "html"], ["plan", play, "-i", inventoryPath, "--json"],
        ]
        for arguments in renderings {
            let shown = try golive.run(arguments, environment: ["TEST_TOKEN": secret])
            #expect(shown.status == 0, "\(arguments): \(shown.output.suffix(300))")
            #expect(!shown.output.contains(secret), "\(arguments) shows the secret")
        }
    }

    @Test func theDemoScriptDeploysThenRollsBackABrokenRelease() throws {
        let (status, output) = try ChildProcess.run(
            "/bin/bash", [golive.root + "/.ci/demo"],
            environment: [
                "GOLIVE_DEMO_SKIP_SETUP": "1", "GOLIVE_DEMO_DIR": live.directory + "/demo",
                "GOLIVE_DEMO_INVENTORY": live.directory + "/demo-inventory.yml", "GOLIVE_STORE": live.directory + "/demo.sqlite",
            ])
        defer { Sandbox(directory: live.directory + "/demo").down() }
        #expect(status == 0, "\(output.suffix(2000))")
        #expect(output.contains("exit code: 1"))
        for host in ["web1", "web2", "web3", "web4"] {
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: live.directory + "/demo/hosts/\(host)/srv/app/current")
            #expect(link == "releases/2.0.0")
        }
        #expect(FileManager.default.fileExists(atPath: live.directory + "/demo-timeline.html"))
    }
}
