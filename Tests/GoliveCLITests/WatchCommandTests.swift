import Foundation
import GoliveTestSupport
import Testing

/// `golive watch` driven in a real terminal (tmux) against a live run on real sshd hosts.
@Suite(.serialized) struct WatchCommandTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    private func tmux(_ arguments: [String]) throws -> String { try HostTools.output("/usr/bin/tmux", arguments) }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/tmux"), "needs tmux"))
    func watchFollowsALiveRunToItsEndAndQuitsCleanly() async throws {
        let store = live.directory + "/watch.sqlite"
        let slow = try live.write(
            try String(contentsOfFile: golive.root + "/playbooks/webapp.yml", encoding: .utf8)
                .replacingOccurrences(of: "  - name: switch current", with: "  - name: wait\n    shell: sleep 2\n  - name: switch current")
                .replacingOccurrences(of: "files/webapp/", with: golive.root + "/playbooks/files/webapp/"))
        let run = try golive.start(["run", slow, "-i", live.inventoryPath, "--store", store, "--json"], output: live.directory + "/run.log")
        let started = await eventually { FileManager.default.fileExists(atPath: store) && ((try? String(contentsOfFile: self.live.directory + "/run.log", encoding: .utf8)) ?? "").contains("runStarted") }
        #expect(started)
        let session = "golive-watch-\(UInt32.random(in: 0...UInt32.max))"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "80", "-y", "24", "/bin/bash --norc --noprofile"])
        defer { _ = try? tmux(["kill-session", "-t", session]) }
        _ = try tmux(["send-keys", "-t", session, "\(golive.path) watch --store \(store); echo WATCH-EXIT=$?", "Enter"])
        let live = self.live
        let showsHosts = await eventually(timeout: .seconds(30)) {
            let screen = (try? HostTools.output("/usr/bin/tmux", ["capture-pane", "-p", "-t", session])) ?? ""
            return ["web1", "web2", "web3", "web4"].allSatisfy { screen.contains($0) } && screen.contains("golive watch")
        }
        #expect(showsHosts)
        #expect(run.wait() == 0)
        let finished = await eventually(timeout: .seconds(30)) {
            let screen = (try? HostTools.output("/usr/bin/tmux", ["capture-pane", "-p", "-t", session])) ?? ""
            return screen.contains("[succeeded]") && screen.contains("phase: finished")
        }
        #expect(finished)
        let screen = try tmux(["capture-pane", "-p", "-t", session])
        for line in screen.split(separator: "\n") { #expect(line.count <= 80) }
        #expect(screen.contains("7/7") && screen.contains("[succeeded] ·"))
        _ = try tmux(["send-keys", "-t", session, "q"])
        let quit = await eventually(timeout: .seconds(10)) {
            ((try? HostTools.output("/usr/bin/tmux", ["capture-pane", "-p", "-t", session])) ?? "").contains("WATCH-EXIT=0")
        }
        #expect(quit)
        // The alternate screen is gone: the shell's own screen is back.
        #expect(!(try tmux(["capture-pane", "-p", "-t", session])).contains("── newest events ──"))
        _ = live
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/tmux"), "needs tmux"))
    func runDrawsItsProgressInPlaceOnATerminal() async throws {
        let session = "golive-run-\(UInt32.random(in: 0...UInt32.max))"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "100", "-y", "40", "/bin/bash --norc --noprofile"])
        defer { _ = try? tmux(["kill-session", "-t", session]) }
        let store = live.directory + "/tty.sqlite"
        _ = try tmux([
            "send-keys", "-t", session,
            "\(golive.path) run \(golive.root)/playbooks/webapp.yml -i \(live.inventoryPath) --store \(store); echo RUN-EXIT=$?", "Enter",
        ])
        let done = await eventually(timeout: .seconds(60)) {
            ((try? HostTools.output("/usr/bin/tmux", ["capture-pane", "-p", "-t", session])) ?? "").contains("RUN-EXIT=0")
        }
        let screen = try tmux(["capture-pane", "-p", "-t", session])
        #expect(done, "\(screen)")
        // One frame, redrawn in place: the header appears once, with every host row and the summary below.
        #expect(screen.components(separatedBy: "HOST BATCH STEP").count == 2)
        #expect(["web1", "web2", "web3", "web4"].allSatisfy { screen.contains("\($0) ") })
        #expect(screen.contains("Summary of run") && screen.contains("succeeded"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/tmux"), "needs tmux"))
    func watchShowsTheProbeFiguresAndTheNewestLogLines() async throws {
        let store = live.directory + "/signals.sqlite"
        for host in live.hosts { try "42\n".write(toFile: host.appDirectory + "/figure", atomically: true, encoding: .utf8) }
        let play = try live.write(
            """
            name: signals on screen
            hosts: web
            deploy:
              - name: start the app
                shell: cd {{ app_dir }} && { nohup sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 0.5; echo "ERROR request $i failed" >> app.log; done' </dev/null >/dev/null 2>&1 & }
            health:
              interval: 500ms
              duration: 8s
              probes:
                - log: { path: "{{ app_dir }}/app.log", match: ERROR, max: 100, per: 1m }
                - metric: { command: "cat {{ app_dir }}/figure", value: "< 100" }
            """, name: "signals.yml")
        let run = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--json"], output: live.directory + "/signals.log")
        let session = "golive-signals-\(UInt32.random(in: 0...UInt32.max))"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "160", "-y", "30", "/bin/bash --norc --noprofile"])
        defer { _ = try? tmux(["kill-session", "-t", session]) }
        _ = await eventually { FileManager.default.fileExists(atPath: store) }
        _ = try tmux(["send-keys", "-t", session, "\(golive.path) watch --store \(store)", "Enter"])
        let shown = await eventually(timeout: .seconds(30)) {
            let screen = (try? HostTools.output("/usr/bin/tmux", ["capture-pane", "-p", "-t", session])) ?? ""
            return screen.contains("value#2 42") && screen.contains("── newest matching log lines ──")
                && screen.contains("app.log: ERROR request") && screen.contains("log app.log")
        }
        let screen = try tmux(["capture-pane", "-p", "-t", session])
        #expect(shown, "\(screen)")
        // A sparkline follows each figure.
        #expect(screen.contains { "▁▂▃▄▅▆▇█".contains($0) }, "\(screen)")
        #expect(run.wait() == 0)
        _ = try tmux(["send-keys", "-t", session, "q"])
        // The HTML timeline charts each figure, a line per host, beside the Gantt bars.
        let html = try golive.run(["timeline", "--store", store, "--format", "html"])
        #expect(html.output.contains("data-metric='value#2'") && html.output.contains("data-metric='log app.log'"))
        #expect(html.output.components(separatedBy: "<polyline").count - 1 == 2 * live.hosts.count)
    }
}
