import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// Log and metric probes against real sshd hosts: errors written by a deploy fail the health watch,
/// older ones do not count, rotation and truncation are followed, metrics count consecutive
/// failures, and thresholds can be relative to the prechecks' baseline.
@Suite(.serialized) struct SignalProbeTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 2) }

    /// One batch of both hosts; `deploy` and `probes` are YAML lines (indented by the caller).
    func playbook(deploy: String, probes: String, interval: String = "300ms", duration: String = "1500ms", allowed: Int = 0) -> String {
        """
        name: signals
        hosts: web
        serial: 2
        max_fail: 0
        deploy:
          - name: marker
            shell: echo changed > {{ app_dir }}/marker
            rollback: rm -f {{ app_dir }}/marker && echo 50 > {{ app_dir }}/figure
        \(deploy)
        health:
          interval: \(interval)
          duration: \(duration)
          failures_allowed: \(allowed)
          probes:
        \(probes)
        """
    }

    func log(_ host: String) -> String { live.host(host)!.appDirectory + "/app.log" }

    func append(_ line: String, to path: String, times: Int = 1) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        for _ in 0..<times { try handle.write(contentsOf: Data((line + "\n").utf8)) }
        try handle.close()
    }

    @Test func errorsWrittenByTheDeployFailTheWatchAndOlderOnesDoNot() async throws {
        for host in live.hosts {
            try String(repeating: "2026-11-24 ERROR old failure\n", count: 10).write(toFile: log(host.name), atomically: true, encoding: .utf8)
        }
        let probes = "    - log: { path: \"{{ app_dir }}/app.log\", match: \"ERROR|Exception\", max: 2, per: 1m }"
        // A deploy that writes no error passes, whatever the log held before.
        let quiet = try live.write(playbook(deploy: "  - name: quiet\n    shell: echo INFO started >> {{ app_dir }}/app.log", probes: probes), name: "quiet.yml")
        let (good, goodEvents) = try await live.execute(quiet)
        #expect(good.exitCode == 0, "\(good.status) \(goodEvents.filter { $0.kind == .probeRound }.compactMap(\.message))")
        #expect(goodEvents.contains { $0.kind == .probeRound && $0.details?["log app.log"] == "0" })
        // One after which the app writes errors fails the watch and is rolled back (the "app" is a
        // background writer the deploy starts; lines written during the deploy itself do not count).
        let noisy = try live.write(
            playbook(
                deploy: """
                      - name: noisy
                        shell: cd {{ app_dir }} && echo 'ERROR during the deploy' >> app.log && { nohup sh -c 'sleep 0.4; for i in 1 2 3; do echo "ERROR boom $i" >> app.log; done' </dev/null >/dev/null 2>&1 & }
                    """, probes: probes),
            name: "noisy.yml")
        let (bad, events) = try await live.execute(noisy)
        #expect(bad.exitCode == 1, "\(bad.status) \(events.filter { $0.kind == .probeRound }.map { "\($0.phase?.rawValue ?? "") \($0.host ?? "") \($0.details ?? [:]) \($0.message ?? "")" })")
        let failed = try #require(events.first { $0.kind == .probeRound && $0.phase == .health && $0.status == "failed" })
        #expect(failed.message?.contains("3 line(s) matching /ERROR|Exception/ in the last 1m, more than 2") == true, "\(failed.message ?? "")")
        #expect(failed.stdout?.contains("app.log: ERROR boom 3") == true, "\(failed.stdout ?? "")")
        #expect(failed.stdout?.contains("old failure") == false && failed.stdout?.contains("during the deploy") == false)
        for host in live.hosts { #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/marker")) }
    }

    @Test func rotationAndTruncationAreFollowed() async throws {
        for host in live.hosts { try "".write(toFile: log(host.name), atomically: true, encoding: .utf8) }
        let probes = "    - log: { path: \"{{ app_dir }}/app.log\", match: ERROR, max: 100, per: 1m }"
        let play = try live.write(playbook(deploy: "", probes: probes, interval: "500ms", duration: "3s"))
        let journal = MemoryJournal()
        let live = self.live
        let path = log("web1")
        let (outcome, _) = try await live.execute(play, journal: journal) { _ in } during: { _ in
            @Sendable func rounds() async -> Int { await journal.events.filter { $0.kind == .probeRound && $0.phase == .health && $0.host == "web1" }.count }
            _ = await eventually { await rounds() >= 1 }
            // Two errors; then one more lands in the file just before it is rotated, and one in
            // the new file; then the new file is truncated and one more is written.
            _ = try? live.shell("echo 'ERROR one' >> \(path) && echo 'ERROR two' >> \(path)")
            _ = await eventually { await rounds() >= 2 }
            _ = try? live.shell("echo 'ERROR late in the old file' >> \(path) && mv \(path) \(path).1 && echo 'ERROR in the new file' > \(path)")
            _ = await eventually { await rounds() >= 3 }
            _ = try? live.shell("echo 'ERROR longer line before truncation' >> \(path) && : > \(path) && echo 'ERROR after' >> \(path)")
        }
        #expect(outcome.exitCode == 0, "\(outcome.status)")
        let rounds = await journal.events.filter { $0.kind == .probeRound && $0.phase == .health && $0.host == "web1" }
        let counts = rounds.compactMap { $0.details?["log app.log"] }.compactMap { Int($0) }
        // Counts over the window: 0, then 2, then 2 + the old file's last line + the new file's
        // line, then one more after the truncation (the line written and truncated away is lost).
        #expect(Array(counts.prefix(4)) == [0, 2, 4, 5], "\(counts)")
        #expect(rounds.count >= 4)
        if rounds.count >= 4 {
            #expect(rounds[2].stdout?.contains("app.log: ERROR late in the old file") == true, "\(rounds[2].stdout ?? "")")
            #expect(rounds[2].stdout?.contains("app.log: ERROR in the new file") == true)
            #expect(rounds[3].stdout == "app.log: ERROR after", "\(rounds[3].stdout ?? "")")
        }
    }

    @Test func aMetricCountsConsecutiveFailuresAndRecoveries() async throws {
        for host in live.hosts { try "50\n".write(toFile: host.appDirectory + "/figure", atomically: true, encoding: .utf8) }
        let probes = "    - metric: { command: \"cat {{ app_dir }}/figure\", value: \"< 100\" }"
        let play = try live.write(playbook(deploy: "", probes: probes, interval: "500ms", duration: "10s", allowed: 1))
        let journal = MemoryJournal()
        let figure = live.host("web1")!.appDirectory + "/figure"
        // After each of web1's rounds, the value the next one reads: fail, recover, fail, fail.
        let script = ["150", "50", "150", "150"]
        let (outcome, _) = try await live.execute(play, journal: journal) { _ in } during: { _ in
            for (index, value) in script.enumerated() {
                _ = await eventually {
                    await journal.events.filter { $0.kind == .probeRound && $0.phase == .health && $0.host == "web1" }.count >= index + 1
                }
                try? "\(value)\n".write(toFile: figure, atomically: true, encoding: .utf8)
            }
        }
        let rounds = await journal.events.filter { $0.kind == .probeRound && $0.phase == .health && $0.host == "web1" }
        #expect(rounds.map { $0.status ?? "" } == ["ok", "failed", "ok", "failed", "failed"], "\(rounds.map { ($0.status ?? "", $0.details ?? [:]) })")
        #expect(rounds.map { $0.details?["value"] ?? "" } == ["50", "150", "50", "150", "150"])
        #expect(rounds.last?.message?.contains("metric value = 150, needs < 100") == true, "\(rounds.last?.message ?? "")")
        #expect(outcome.exitCode == 1)
        #expect(outcome.reason?.contains("2 failed round(s) in a row") == true, "\(outcome.reason ?? "")")
    }

    @Test func thresholdsRelativeToTheBaselineAndTheHostFigures() async throws {
        for host in live.hosts { try "40\n".write(toFile: host.appDirectory + "/figure", atomically: true, encoding: .utf8) }
        let probes = """
                - metric: { command: "cat {{ app_dir }}/figure", value: "< baseline * 2" }
                - metric: { load1: "< 1000", mem_available: "> 1MB", disk_free: { path: "{{ app_dir }}", min: 1MB } }
            """
        let deploy = { (value: Int) in
            "  - name: new figure\n    shell: echo \(value) > {{ app_dir }}/figure\n    rollback: echo 40 > {{ app_dir }}/figure"
        }
        let (fine, events) = try await live.execute(try live.write(playbook(deploy: deploy(70), probes: probes), name: "fine.yml"))
        #expect(fine.exitCode == 0, "\(fine.status) \(events.filter { $0.kind == .probeRound }.compactMap(\.message))")
        let baseline = try #require(events.first { $0.kind == .probeRound && $0.phase == .precheck && $0.host == "web1" })
        #expect(baseline.details?["baseline value#1"] == "40", "\(baseline.details ?? [:])")
        let health = try #require(events.last { $0.kind == .probeRound && $0.phase == .health && $0.host == "web1" })
        #expect(health.details?["value#1"] == "70")
        for figure in ["load1#2", "mem_available#2", "disk_free#2"] { #expect(Double(health.details?[figure] ?? "") != nil, "\(figure)") }

        for host in live.hosts { try "40\n".write(toFile: host.appDirectory + "/figure", atomically: true, encoding: .utf8) }
        let (doubled, doubledEvents) = try await live.execute(try live.write(playbook(deploy: deploy(90), probes: probes), name: "doubled.yml"))
        #expect(doubled.exitCode == 1)
        #expect(doubledEvents.contains { $0.kind == .probeRound && ($0.message ?? "").contains("metric value = 90, needs < 80 (< baseline * 2)") })
    }

    @Test func aMetricAlreadyFailingRefusesTheRunInThePrechecks() async throws {
        for host in live.hosts { try "500\n".write(toFile: host.appDirectory + "/figure", atomically: true, encoding: .utf8) }
        let play = try live.write(playbook(deploy: "", probes: "    - metric: { command: \"cat {{ app_dir }}/figure\", value: \"< 100\" }"))
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 3 && outcome.status == "refused")
        #expect(!events.contains { $0.kind == .stepStarted && $0.phase == .deploy })
        for host in live.hosts { #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/marker")) }
    }
}
