import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// The example web deploy, with its real files, against real sshd hosts serving their `current/`.
let webappPlaybook = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("playbooks/webapp.yml").path

/// A playbook over the sandbox's app directories; `extra` lands in the deploy section.
func releasePlaybook(serial: String = "2", maxFail: String = "0", deploy extra: String = "", window: String = "", prechecks: String = "") -> String {
    """
    name: test release
    hosts: web
    serial: \(serial)
    max_fail: \(maxFail)
    vars: { version: "2.0.0" }
    \(window)
    prechecks:
      - name: app dir exists
        shell: test -d {{ app_dir }}
    \(prechecks)
    backup:
      - name: snapshot
        archive: { path: "{{ app_dir }}/releases", to: "{{ app_dir }}/../backups/releases-{{ run.id }}.tgz" }
    deploy:
      - name: previous
        shell: basename "$(readlink {{ app_dir }}/current)"
        register: previous
      - name: release
        shell: mkdir -p {{ app_dir }}/releases/{{ version }} && echo ok {{ version }} > {{ app_dir }}/releases/{{ version }}/health
      - name: switch
        shell: ln -sfn releases/{{ version }} {{ app_dir }}/current
        rollback: ln -sfn releases/{{ previous.stdout }} {{ app_dir }}/current
    \(extra)
    health:
      interval: 300ms
      duration: 900ms
      probes:
        - http: { url: "http://{{ host.address }}:{{ http_port }}/health", status: 200, contains: ok }
    """
}

@Suite(.serialized) struct ExecutorTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    private func all(_ release: String) -> Bool { ["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) == release } }

    @Test func happyPathDeploysEveryHostInTwoBatches() async throws {
        let (outcome, events) = try await live.execute(webappPlaybook)
        #expect(outcome.exitCode == 0)
        #expect(all("2.0.0"))
        let batches = events.filter { $0.kind == .batchStarted }.map(\.message)
        #expect(batches == ["web1, web2", "web3, web4"])
        let firstBatchEnd = try #require(events.firstIndex { $0.kind == .batchFinished && $0.batch == 1 })
        let web3Start = try #require(events.firstIndex { $0.kind == .stepStarted && $0.host == "web3" && $0.phase == .backup })
        #expect(firstBatchEnd < web3Start)
        // Every started step has its end; sequence numbers are dense.
        #expect(events.filter { $0.kind == .stepStarted }.count == events.filter { $0.kind == .stepFinished }.count)
        #expect(events.map { $0.sequence ?? 0 } == Array(1...Int64(events.count)))
    }

    @Test func brokenReleaseRollsBackTheFirstBatchAndNeverTouchesTheSecond() async throws {
        let (outcome, events) = try await live.execute(webappPlaybook, vars: ["version": .string("3.0.0"), "healthy": .bool(false)])
        #expect(outcome.exitCode == 1)
        #expect(all("1.0.0"))
        for name in ["web1", "web2"] {
            let host = try #require(live.host(name))
            #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/releases/3.0.0"))
        }
        #expect(!events.contains { $0.kind == .stepStarted && ($0.host == "web3" || $0.host == "web4") && $0.phase != .precheck })
        let verified = events.filter { $0.kind == .probeRound && $0.phase == .verify }
        #expect(Set(verified.compactMap(\.host)) == ["web1", "web2"])
        #expect(verified.allSatisfy { $0.status == "ok" })
    }

    @Test func aLaterBatchFailureRollsBackEveryChangedHost() async throws {
        let play = try live.write(releasePlaybook(deploy: "  - name: fails on web3\n    shell: test {{ host.name }} != web3"))
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 1)
        #expect(all("1.0.0"))
        #expect(Set(events.filter { $0.kind == .rollbackHostFinished }.compactMap(\.host)) == ["web1", "web2", "web3", "web4"])
        // Reverse order per host: switch, release, previous, then the backup restore.
        let web1 = events.filter { $0.kind == .rollbackStepStarted && $0.host == "web1" }.compactMap(\.step)
        #expect(web1 == ["deploy[2]", "backup[0]"])
    }

    @Test func aRollbackThatFailsLeavesExitFourNamingHostAndStep() async throws {
        let deploy = """
              - name: fragile
                shell: "true"
                rollback: test {{ host.name }} != web1
              - name: break
                shell: "false"
            """
        let play = try live.write(releasePlaybook(serial: "4", deploy: deploy))
        let (outcome, _) = try await live.execute(play) { $0.rollbackAttempts = 2 }
        #expect(outcome.exitCode == 4)
        #expect(outcome.attention.contains { $0.contains("web1") && $0.contains("fragile") && $0.contains("test web1 != web1") })
        #expect(outcome.hosts.first { $0.host == "web2" }?.state == .rolledBack)
    }

    @Test func aFailedPrecheckRefusesAndChangesNothing() async throws {
        let prechecks = "  - name: not web2\n    shell: test {{ host.name }} != web2"
        let play = try live.write(releasePlaybook(prechecks: prechecks))
        // Every file's path and content, golive's own lock root (which stays, as /var/tmp/golive does) aside.
        let tree = "cd \(live.directory)/sandbox/hosts && find . -path '*/var/tmp/golive' -prune -o -type f -print0 | sort -z | xargs -0 md5sum"
        let before = try live.shell(tree)
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 3)
        #expect(outcome.reason?.contains("web2") == true)
        #expect(!events.contains { $0.kind == .stepStarted && $0.phase != .precheck })
        let after = try live.shell(tree)
        #expect(after == before, "\(Set(after.split(separator: "\n")).symmetricDifference(before.split(separator: "\n")))")
        let left = try live.shell("cd \(live.directory)/sandbox/hosts && find . -path '*/var/tmp/golive/*'")
        #expect(left.isEmpty, "\(left)")
    }

    @Test func maxFailOneToleratesOneHostAndRollsBackOnlyIt() async throws {
        let play = try live.write(
            releasePlaybook(serial: "4", maxFail: "1", deploy: "  - name: fails on web2\n    shell: test {{ host.name }} != web2"))
        let (outcome, _) = try await live.execute(play)
        #expect(outcome.exitCode == 0)
        #expect(live.current("web2") == "1.0.0")
        #expect(["web1", "web3", "web4"].allSatisfy { live.current($0) == "2.0.0" })
    }

    @Test func maxFailIsPerBatchAndEveryHostFailingStopsTheRun() async throws {
        let play = try live.write(
            releasePlaybook(serial: "2", maxFail: "50%", deploy: "  - name: always fails\n    shell: \"false\""))
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 1)
        #expect(all("1.0.0"))
        #expect(!events.contains { $0.kind == .batchStarted && $0.batch == 2 })
    }

    @Test func theRollbackPointStopsALongStepAndRollsBack() async throws {
        let formatter = ISO8601DateFormatter()
        let start = formatter.string(from: Date().addingTimeInterval(-60))
        let end = formatter.string(from: Date().addingTimeInterval(6))
        let window = "window: { start: \"\(start)\", end: \"\(end)\", rollback_reserve: 3s }"
        let play = try live.write(releasePlaybook(serial: "4", deploy: "  - name: long\n    shell: sleep 60", window: window))
        let begin = ContinuousClock.now
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 1)
        #expect(outcome.reason?.contains("rollback point") == true)
        #expect(begin.duration(to: .now) < .seconds(20))
        #expect(all("1.0.0"))
        #expect(events.contains { $0.kind == .rollbackStarted && $0.status == AbortReason.rollbackPoint.rawValue })
    }

    @Test func aGateWithoutAnAnswerIsNoAndRollsBack() async throws {
        let play = try live.write(releasePlaybook(serial: "4", deploy: "  - gate: \"Smoke tests green?\"\n  - name: after\n    shell: \"true\""))
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 1)
        #expect(events.contains { $0.kind == .gateAnswered && $0.status == "no" })
        #expect(!events.contains { $0.stepName == "after" })
        #expect(all("1.0.0"))
        let (yes, _) = try await live.execute(play) { $0.assumeYes = true }
        #expect(yes.exitCode == 0)
        #expect(all("2.0.0"))
    }

    @Test func archiveRestoreBringsADirectoryBackByteForByte() async throws {
        let web1 = try #require(live.host("web1"))
        let data = web1.root + "/data"
        _ = try live.shell(
            "mkdir -p \(data)/sub && echo one > \(data)/a && echo two > \(data)/sub/b && chmod 0640 \(data)/a && ln -s sub/b \(data)/link && printf '\\001\\002' > \(data)/bin")
        let snapshot = "cd \(data) && find . -printf '%p %m %y %l\\n' | sort && find . -type f -exec sha256sum {} + | sort"
        let before = try live.shell(snapshot)
        let deploy = """
              - name: mess up
                shell: cd {{ data }} && echo changed > a && chmod 0777 a && rm sub/b && echo new > added && rm link && ln -s a link
              - name: break
                shell: "false"
            """
        var text = releasePlaybook(serial: "4", deploy: deploy)
        // One host: the sandbox's hosts share this machine's filesystem, and `data` is one directory.
        text = text.replacingOccurrences(of: "archive: { path: \"{{ app_dir }}/releases\"", with: "archive: { path: \"{{ data }}\"")
            .replacingOccurrences(of: "hosts: web\n", with: "hosts: web1\n")
        let play = try live.write(text)
        let (outcome, _) = try await live.execute(play, vars: ["data": .string(data)])
        #expect(outcome.exitCode == 1, "\(outcome.attention)")
        #expect(try live.shell(snapshot) == before)
    }

    @Test func aHostThatDiesMidStepIsReportedAndTheOthersRollBack() async throws {
        let play = try live.write(releasePlaybook(serial: "4", deploy: "  - name: slow\n    shell: sleep 3 && test {{ host.name }} != web3"))
        let live = self.live
        let (outcome, _) = try await live.execute(play) { $0.reconnectDeadline = .seconds(2) } during: { executor in
            // Kill web2's server while the slow step runs.
            _ = await eventually { (try? live.shell("pgrep -f 'slee[p] 3' | wc -l").trimmingCharacters(in: .whitespacesAndNewlines)) != "0" }
            live.sandbox.kill("web2")
        }
        #expect(outcome.exitCode == 4, "\(outcome.status) \(outcome.reason ?? "")")
        #expect(outcome.attention.contains { $0.contains("web2") })
        #expect(["web1", "web3", "web4"].allSatisfy { live.current($0) == "1.0.0" })
    }
}

/// The max_fail cases that surprise Ansible users.
@Suite(.serialized) struct MaxFailEdgeTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    @Test func maxFailHundredPercentNeverStopsButRollsBackEveryFailedHost() async throws {
        let play = try live.write(releasePlaybook(serial: "2", maxFail: "100%", deploy: "  - name: fails on web1 and web3\n    shell: test {{ host.name }} != web1 -a {{ host.name }} != web3"))
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 0)
        #expect(live.current("web1") == "1.0.0" && live.current("web3") == "1.0.0")
        #expect(live.current("web2") == "2.0.0" && live.current("web4") == "2.0.0")
        #expect(events.contains { $0.kind == .batchStarted && $0.batch == 2 })
    }

    @Test func aBatchOfOneWithMaxFailZeroStopsAtItsFailure() async throws {
        let play = try live.write(releasePlaybook(serial: "1", deploy: "  - name: fails on web2\n    shell: test {{ host.name }} != web2"))
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 1)
        #expect(["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) == "1.0.0" })
        #expect(!events.contains { $0.kind == .batchStarted && $0.batch == 3 })
    }
}
