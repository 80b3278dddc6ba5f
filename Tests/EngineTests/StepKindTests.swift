import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// Each step kind and option against real hosts.
@Suite(.serialized) struct StepKindTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 2) }

    @Test func everyKindAndOptionDoesWhatItSays() async throws {
        let local = live.directory + "/local-marker"
        try "payload {{ host.name }}\n".write(toFile: live.directory + "/payload.txt", atomically: true, encoding: .utf8)
        let play = try live.write(
            """
            name: kinds
            hosts: web
            vars: { word: "it's $(id) `x`" }
            prechecks:
              - name: port open
                tcp: { port: "{{ http_port }}" }
              - name: http from the host
                http: { url: "http://127.0.0.1:{{ http_port }}/health", contains: ok, via: host }
            deploy:
              - name: argv
                command: [printf, "%s", "{{ word }}"]
                register: argv
              - name: argv arrived whole
                shell: test {{ argv.stdout }} = {{ word }}
              - name: upload
                upload: { src: payload.txt, dest: "{{ app_dir }}/", mode: "0600" }
              - name: template
                template: { src: payload.txt, dest: "{{ app_dir }}/rendered.txt" }
              - name: skipped
                shell: "false"
                when: argv.rc != 0
              - name: flaky
                shell: n=$(cat {{ app_dir }}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {{ app_dir }}/count; echo $n
                register: counter
                retries: 5
                delay: 100ms
                until: counter.stdout == "3"
              - name: once
                shell: echo {{ host.name }}
                register: first
                run_once: true
              - name: once result shared
                shell: test {{ first.stdout }} = web1
              - name: background file appears
                shell: (sleep 1; touch {{ app_dir }}/later) >/dev/null 2>&1 &
              - name: wait for it
                wait: { file: "{{ app_dir }}/later", timeout: 20s, interval: 200ms }
              - name: wait for the port
                wait: { port: "{{ http_port }}", timeout: 10s }
              - name: on the controller
                local: echo {{ host.name }} >> \(local)
              - name: tolerated
                shell: exit 7
                ignore_errors: true
            """, name: "kinds.yml")
        // `port: "{{ http_port }}"` is not an integer: the language refuses templated ports.
        #expect(throws: ValidationFailure.self) { try live.load(play) }
        let fixed = try String(contentsOfFile: play, encoding: .utf8)
            .replacingOccurrences(of: "tcp: { port: \"{{ http_port }}\" }", with: "tcp: { port: \(live.hosts[0].httpPort), host: web1 }")
            .replacingOccurrences(of: "wait: { port: \"{{ http_port }}\", timeout: 10s }", with: "wait: { port: \(live.hosts[1].httpPort), timeout: 10s }")
        try fixed.write(toFile: play, atomically: true, encoding: .utf8)
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 0, "\(outcome.reason ?? "")")
        for host in live.hosts {
            let uploaded = host.appDirectory + "/payload.txt"
            #expect(try String(contentsOfFile: uploaded, encoding: .utf8) == "payload {{ host.name }}\n")
            let mode = try FileManager.default.attributesOfItem(atPath: uploaded)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600)
            #expect(try String(contentsOfFile: host.appDirectory + "/rendered.txt", encoding: .utf8) == "payload \(host.name)\n")
            #expect(try String(contentsOfFile: host.appDirectory + "/count", encoding: .utf8) == "3\n")
        }
        #expect(events.filter { $0.kind == .stepSkipped && $0.stepName == "skipped" }.count == 2)
        #expect(events.filter { $0.kind == .stepFinished && $0.stepName == "once" }.count == 1)
        let flaky = events.filter { $0.kind == .stepFinished && $0.stepName == "flaky" }
        #expect(flaky.count == 6 && flaky.filter { $0.status == "ok" }.count == 2)
        #expect(Set(try String(contentsOfFile: local, encoding: .utf8).split(separator: "\n")) == ["web1", "web2"])
        #expect(events.contains { $0.stepName == "tolerated" && $0.status == "failed" && $0.exitCode == 7 })
    }

    @Test func aRunOutsideItsWindowIsRefusedAndTheOverrideIsRecorded() async throws {
        let formatter = ISO8601DateFormatter()
        let opens = Date().addingTimeInterval(3600)
        let play = try live.write(
            """
            name: later
            hosts: web
            window: { start: "\(formatter.string(from: opens))", end: "\(formatter.string(from: opens.addingTimeInterval(3600)))", rollback_reserve: 10m }
            deploy:
              - shell: "true"
            """, name: "later.yml")
        let (refused, events) = try await live.execute(play)
        #expect(refused.exitCode == 3)
        #expect(refused.reason?.contains("it opens at \(formatter.string(from: opens))") == true)
        #expect(!events.contains { $0.kind == .hostConnected })
        let (forced, forcedEvents) = try await live.execute(play) { $0.ignoreWindowReason = "emergency fix CHG-1" }
        #expect(forced.exitCode == 0)
        #expect(forcedEvents.contains { $0.kind == .windowOverride && $0.message == "emergency fix CHG-1" })
        let (rehearsal, _) = try await live.execute(play, kind: .rehearse)
        #expect(rehearsal.exitCode == 0)
    }
}
