import Engine
import Foundation
import GoliveTestSupport
import Playbook
import System
import Testing

/// Every field of every step and probe kind that golive builds a command from, fed a hostile
/// value, against real sshd hosts: nothing the value says is ever executed, on a host or on the
/// controller.
@Suite(.serialized) struct HostileFieldTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 1) }

    @Test func noFieldOfAnyKindRunsWhatItsValueSays() async throws {
        let mark = live.directory + "/MARK-\(UUID().uuidString.prefix(8))"
        let payloads = [
            "$(touch \(mark)-1)", "`touch \(mark)-2`", "';touch \(mark)-3;'", "\";touch \(mark)-4;\"", "x$(touch \(mark)-5)y",
            "127.0.0.1$(touch \(mark)-6)", "a\ntouch \(mark)-7", "|touch \(mark)-8", "&& touch \(mark)-9 #",
        ]
        // CI runs a fixed sample (substitution, backticks, both quote breakouts, a newline); GOLIVE_FULL=1 all of them.
        let sample = ProcessInfo.processInfo.environment["GOLIVE_FULL"] == "1" ? payloads : [0, 1, 2, 3, 6].map { payloads[$0] }
        _ = try live.shell("mkdir -p \(live.directory)/files && echo hello > \(live.directory)/files/src.txt && echo '{{ v }}' > \(live.directory)/files/t.txt")
        for (index, payload) in sample.enumerated() {
            let play = try live.write(
                """
                name: hostile fields
                hosts: web1
                prechecks:
                  - http: { url: "http://127.0.0.1:1/{{ v }}", status: 200, via: host, timeout: 1s }
                    ignore_errors: true
                backup:
                  - archive: { path: "{{ app_dir }}/x{{ v }}", to: "{{ app_dir }}/../backups/{{ v }}.tgz" }
                deploy:
                  - shell: printf '%s' {{ v }} "{{ v }}" 'in {{ v }} single' > /dev/null
                    rollback: printf '%s' {{ v }} "{{ v }}" > /dev/null
                  - command: [printf, "%s", "{{ v }}"]
                  - upload: { src: files/src.txt, dest: "/tmp/golive-hostile-{{ v | basename }}" }
                    ignore_errors: true
                  - template: { src: files/t.txt, dest: "{{ app_dir }}/t-out" }
                  - tcp: { host: "{{ v }}", port: 1, timeout: 1s }
                    ignore_errors: true
                  - wait: { port: 1, host: "{{ v }}", timeout: 1s, interval: 200ms }
                    ignore_errors: true
                  - wait: { file: "/tmp/{{ v }}", timeout: 1s, interval: 200ms }
                    ignore_errors: true
                  - wait: { command: "test -n {{ v }}", timeout: 1s }
                  - local: printf '%s' {{ v }} "{{ v }}" > /dev/null
                    rollback: printf '%s' {{ v }} > /dev/null
                  - name: fail so that everything is rolled back
                    shell: exit 1
                health:
                  interval: 200ms
                  duration: 200ms
                  probes:
                    - shell: printf '%s' {{ v }} > /dev/null
                    - log: { path: "/tmp/{{ v }}.log", match: "ERROR", max: 0 }
                rollback:
                  - shell: printf '%s' "{{ v }}" > /dev/null
                """, name: "hostile-\(index).yml")
            let outcome: RunOutcome, events: [RunEvent]
            do {
                (outcome, events) = try await live.execute(play, vars: ["v": .string(payload)])
            } catch let failure as ValidationFailure {
                // A value no archive path may hold (a newline) is refused before anything runs: fine too.
                #expect(payload.contains("\n") && "\(failure)".contains("newline"), "\(payload.debugDescription): \(failure)")
                continue
            }
            // The run went through every step (and failed at the last one, on purpose).
            #expect(outcome.exitCode == 1, "\(payload.debugDescription): \(outcome.status) \(outcome.reason ?? "") \(outcome.attention)")
            #expect(events.contains { $0.kind == .stepStarted && $0.stepName == "fail so that everything is rolled back" }, "\(payload.debugDescription): \(outcome.reason ?? "")")
            // The metric probes, whose baselines refuse the run when the value is no path.
            let metrics = try live.write(
                """
                name: hostile metrics
                hosts: web1
                deploy:
                  - shell: "true"
                health:
                  interval: 200ms
                  duration: 200ms
                  probes:
                    - metric: { disk_free: { path: "/tmp/{{ v }}", min: 1 }, command: "printf '%s' {{ v }} 1 | wc -c", value: "> 0" }
                """, name: "hostile-metrics-\(index).yml")
            _ = try await live.execute(metrics, vars: ["v": .string(payload)])
            let marks = try live.shell("ls \(live.directory) | grep -c '^MARK-' || true").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(marks == "0", "payload \(payload.debugDescription) executed somewhere")
        }
        // The template file's content is data, not a command.
        #expect(try String(contentsOfFile: live.host("web1")!.appDirectory + "/t-out", encoding: .utf8).contains(mark))
    }

    @Test func aLogProbeFollowsAPathWithSpacesQuotesAndUnicode() async throws {
        let web1 = try #require(live.host("web1"))
        let logPath = web1.root + "/logs/my app 'blue' ☃.log"
        _ = try live.shell("mkdir -p \(ShellQuote.quote(web1.root + "/logs")) && : > \(ShellQuote.quote(logPath))")
        // Six errors written while the health watch follows the log: over `max: 0`, so the watch fails.
        let play = try live.write(
            """
            name: log with spaces
            hosts: web1
            deploy:
              - name: errors after the deploy
                shell: |-
                  { nohup sh -c 'sleep 0.5; for i in 1 2 3 4 5 6; do echo "ERROR $i" >> "$1"; done' sh {{ log }} > /dev/null 2>&1 & }
            health:
              interval: 300ms
              duration: 1500ms
              probes:
                - log: { path: "{{ log }}", match: "ERROR", max: 0 }
            """, name: "log-spaces.yml")
        let (outcome, events) = try await live.execute(play, vars: ["log": .string(logPath)])
        #expect(outcome.exitCode == 1, "\(outcome.status): \(events.filter { $0.kind == .probeRound }.map { "\($0.details ?? [:]) \($0.message ?? "")" })")
        let counted = events.filter { $0.kind == .probeRound && $0.phase == .health }.compactMap { $0.details?["log my app 'blue' ☃.log"] }
        #expect(counted.last == "6", "\(counted)")
    }
}
