import Foundation
import GoliveTestSupport
import System
import Testing

/// Notifications against real local receivers (Python's HTTP server, a local command) and real
/// sshd hosts: a webhook signed with HMAC-SHA256 (verified here), a Slack-shaped message, a command
/// given the JSON on stdin; every delivery on the timeline, the webhook's token nowhere in the
/// record; a hanging and a failing receiver hold no step up; `late` and `rollback_point_near`
/// fire on time; `golive notify test` reports each target.
@Suite(.serialized) struct NotifyCommandTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    let receiver: NotifyReceiver
    static let key = "hmac-key-for-the-test-0123456789"
    static let token = "T0KEN-in-the-url-7f3a9c"

    init() throws {
        live = try LiveHosts(count: 2)
        receiver = try NotifyReceiver()
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// The sandbox inventory with `targets` (YAML list items) under `notify:` and the test's secrets.
    func inventory(_ targets: String, name: String) throws -> String {
        var text = read(live.inventoryPath)
        let secrets = "  hook_key: { env: GOLIVE_TEST_HOOK_KEY }\n  hook_url: { env: GOLIVE_TEST_HOOK_URL }\n"
        if text.contains("\nsecrets:\n") {
            text = text.replacingOccurrences(of: "\nsecrets:\n", with: "\nsecrets:\n" + secrets)
        } else {
            text += "secrets:\n" + secrets
        }
        text += "notify:\n" + targets
        let path = live.directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    var environment: [String: String] {
        ["HOME": live.directory, "GOLIVE_TEST_HOOK_KEY": Self.key, "GOLIVE_TEST_HOOK_URL": receiver.url("/ok/hook/" + Self.token)]
    }

    func play(failOn host: String?, sleep seconds: String = "0", name: String, extra: String = "") throws -> String {
        try live.write(
            """
            name: notified release
            hosts: web
            \(extra)
            deploy:
              - name: release
                shell: mkdir -p {{ app_dir }}/releases/2.0.0 && sleep \(seconds)
                rollback: rm -rf {{ app_dir }}/releases/2.0.0
              - name: check
                shell: test "{{ host.name }}" != "\(host ?? "none")"
            """, name: name)
    }

    @Test func everyTargetIsToldSignedAndEveryDeliveryIsOnTheRecord() async throws {
        let told = live.directory + "/told.jsonl"
        let inventory = try inventory(
            """
              - name: ops
                webhook: { secret: hook_url }
                secret: { secret: hook_key }
                headers: { X-Team: ops }
              - name: chat
                slack: \(receiver.url("/ok/slack"))
                events: [host_failed, rollback_finished, run_finished]
              - name: pager
                command: cat >> \(told); echo >> \(told)
            """, name: "notify.yml")
        let store = "sqlite:" + live.directory + "/notify.sqlite"
        let play = try play(failOn: "web2", name: "notify-play.yml")
        let ran = try golive.run(["run", play, "-i", inventory, "--yes", "--json", "--store", store], environment: environment)
        #expect(ran.status == 1, "\(ran.output.suffix(1500))")
        let id = try #require(GoliveBinary.runID(in: ran.output))
        let requests = receiver.requests
        let hooks = requests.filter { $0.path.hasPrefix("/ok/hook/") }
        let events = hooks.compactMap { $0.json?["event"] as? String }
        for expected in ["run_started", "host_failed", "rollback_started", "rollback_finished", "run_finished"] {
            #expect(events.contains(expected), "\(expected) not sent: \(events)")
        }
        for hook in hooks {
            // The receiver's check, as docs/notifications.md gives it.
            let signature = Digest.hmacSHA256(key: Data(Self.key.utf8), data: hook.body).map { String(format: "%02x", $0) }.joined()
            #expect(hook.headers["X-Golive-Signature"] == "sha256=" + signature, "a signature does not verify")
            #expect(hook.headers["X-Team"] == "ops" && hook.headers["X-Golive-Event"] == hook.json?["event"] as? String)
            #expect(hook.json?["version"] as? Int == 1 && (hook.json?["run"] as? [String: Any])?["id"] as? String == id)
        }
        let failed = try #require(hooks.first { $0.json?["event"] as? String == "host_failed" }?.json)
        #expect(failed["host"] as? String == "web2" && (failed["next_action"] as? String)?.isEmpty == false)
        // Slack: the compact message, only the events it asked for.
        let slack = requests.filter { $0.path == "/ok/slack" }.compactMap { $0.json?["text"] as? String }
        #expect(slack.count == 3, "\(slack)")
        #expect(slack.allSatisfy { $0.contains(id) && $0.contains("sandbox") && $0.contains("next:") }, "\(slack)")
        #expect(slack.contains { $0.contains("host failed") && $0.contains("web2") })
        // The command: the same JSON on its stdin.
        let commandEvents = read(told).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["event"] as? String
        }
        #expect(Set(commandEvents) == Set(events), "\(commandEvents) vs \(events)")
        // Every delivery on the timeline, before the run's end.
        let timeline = try golive.timelineEvents(id, store: store, environment: environment)
        let notified = timeline.filter { $0["kind"] as? String == "notified" }
        #expect(notified.count == hooks.count + slack.count + commandEvents.count, "\(notified.count) recorded")
        #expect(notified.allSatisfy { $0["status"] as? String == "delivered" })
        #expect(timeline.last?["kind"] as? String == "runFinished")
        // Event committed → receiver got it.
        var latencies: [Double] = []
        for hook in hooks {
            guard let sequence = hook.json?["sequence"] as? Int,
                let committed = timeline.first(where: { $0["sequence"] as? Int == sequence }).flatMap({ ($0["time"] as? String).flatMap(Timestamp.parse) })
            else { continue }
            latencies.append(hook.received.timeIntervalSince(committed) * 1000)
        }
        let sorted = latencies.sorted()
        print("notification latency (event committed → webhook received): median \(Int(sorted[sorted.count / 2])) ms, max \(Int(sorted.last ?? 0)) ms over \(sorted.count)")
        #expect((sorted.last ?? 0) < 2000)
        // The webhook's URL is a secret: its token is nowhere in the record or the output.
        let file = live.directory + "/notify.sqlite"
        for path in [file, file + "-wal"] where FileManager.default.fileExists(atPath: path) {
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)).range(of: Data(Self.token.utf8)) == nil, "the token is in \(path)")
        }
        #expect(!ran.output.contains(Self.token) && !ran.output.contains(Self.key))
        let plan = try golive.run(["plan", play, "-i", inventory, "--format", "md"], environment: environment)
        #expect(plan.output.contains("Notifications") && plan.output.contains("(secret hook_url) (signed)") && !plan.output.contains(Self.token), "\(plan.output)")
    }

    @Test func aHangingAndAFailingReceiverHoldNoStepUp() async throws {
        let store = "sqlite:" + live.directory + "/slow.sqlite"
        let play = try play(failOn: nil, sleep: "1", name: "slow-play.yml")
        func steps(_ inventory: String) throws -> (seconds: Double, wall: Double, events: [[String: Any]]) {
            let begun = Date()
            let ran = try golive.run(["run", play, "-i", inventory, "--yes", "--json", "--store", store], environment: environment)
            let wall = Date().timeIntervalSince(begun)
            #expect(ran.status == 0, "\(ran.output.suffix(1500))")
            let events = try golive.timelineEvents(GoliveBinary.runID(in: ran.output) ?? "", store: store, environment: environment)
            let times = events.filter { ($0["kind"] as? String)?.hasPrefix("step") == true }.compactMap { ($0["time"] as? String).flatMap(Timestamp.parse) }
            return ((times.max() ?? Date()).timeIntervalSince(times.min() ?? Date()), wall, events)
        }
        let stubborn = live.directory + "/stubborn.pids"
        let quiet = try steps(live.inventoryPath)
        let noisy = try steps(
            try inventory(
                """
                  - name: hangs
                    webhook: \(receiver.url("/hang"))
                    timeout: 30s
                    retries: 0
                  - name: fails
                    webhook: \(receiver.url("/fail"))
                    timeout: 1s
                    retries: 2
                  - name: stubborn
                    command: sh -c 'echo $$ >> \(stubborn); trap "" TERM; while :; do sleep 1; done'
                    timeout: 1s
                    retries: 0
                    events: [run_started]
                """, name: "slow.yml"))
        print("steps took \(String(format: "%.2f", quiet.seconds)) s without notifications, \(String(format: "%.2f", noisy.seconds)) s with a hanging and a failing receiver (ratio \(String(format: "%.2f", noisy.seconds / quiet.seconds))); the run's end waited \(String(format: "%.2f", noisy.wall - quiet.wall)) s more")
        #expect(noisy.seconds / quiet.seconds < 1.3, "the receivers slowed the steps")
        // The end waits a bounded time for what is on its way, then names what was not delivered.
        #expect(noisy.wall - quiet.wall < 6)
        let failures = noisy.events.filter { $0["kind"] as? String == "notified" && $0["status"] as? String == "failed" }
        #expect(failures.contains { ($0["message"] as? String)?.contains("HTTP 500") == true }, "\(failures)")
        // The hanging receiver's end was not delivered: named on the record before the run's end.
        #expect(noisy.events.contains { $0["status"] as? String == "not-notified" && ($0["message"] as? String)?.contains("to hangs not delivered") == true })
        let ended = try #require(noisy.events.last)
        #expect(ended["kind"] as? String == "runFinished")
        #expect(receiver.requests.contains { $0.path == "/hang" })
        // A command that ignores SIGTERM is killed once its time is up: nothing of it outlives the run.
        let pids = read(stubborn).split(separator: "\n").compactMap { Int32($0) }
        #expect(!pids.isEmpty)
        let gone = await eventually(timeout: .seconds(10)) { pids.allSatisfy { kill($0, 0) != 0 } }
        #expect(gone, "a command target outlived its timeout: \(pids)")
    }

    @Test func lateAndRollbackPointNearFireOnTime() async throws {
        let store = "sqlite:" + live.directory + "/timed.sqlite"
        let now = Date()
        let formatter = ISO8601DateFormatter()
        // The rollback point 20 s from now, told 18 s before it.
        let window = "window:\n  start: \(formatter.string(from: now.addingTimeInterval(-60)))\n  end: \(formatter.string(from: now.addingTimeInterval(25)))\n  rollback_reserve: 5s"
        let play = try live.write(
            """
            name: timed release
            hosts: web
            \(window)
            deploy:
              - name: wait
                shell: sleep {{ pause }}
                rollback: none
            """, name: "timed.yml")
        let inventory = try inventory(
            """
              - name: ops
                webhook: \(receiver.url("/ok/timed"))
                events: [late, rollback_point_near, run_finished]
                late_margin: 1s
                before_rollback_point: 18s
            """, name: "timed-inventory.yml")
        let rehearsed = try golive.run(
            ["rehearse", play, "-i", inventory, "--yes", "--json", "--store", store, "-e", "pause=0"], environment: environment)
        #expect(rehearsed.status == 0, "\(rehearsed.output.suffix(1500))")
        let begun = Date()
        let ran = try golive.run(["run", play, "-i", inventory, "--yes", "--json", "--store", store, "-e", "pause=5"], environment: environment)
        #expect(ran.status == 0, "\(ran.output.suffix(1500))")
        let timed = receiver.requests.filter { $0.path == "/ok/timed" && $0.received > begun }
        let events = timed.compactMap { $0.json?["event"] as? String }
        #expect(events.contains("late") && events.contains("rollback_point_near") && events.last == "run_finished", "\(events)")
        let near = try #require(timed.first { $0.json?["event"] as? String == "rollback_point_near" })
        #expect(abs(near.received.timeIntervalSince(now.addingTimeInterval(2))) < 2, "rollback_point_near at \(near.received) for \(now.addingTimeInterval(2))")
        let late = try #require(timed.first { $0.json?["event"] as? String == "late" })
        #expect(late.received.timeIntervalSince(begun) < 5, "late came after the run's slow step")
    }

    @Test func notifyTestReportsEachTarget() throws {
        let targets = try inventory(
            """
              - name: good
                webhook: { secret: hook_url }
              - name: bad
                webhook: \(receiver.url("/fail"))
                timeout: 1s
                retries: 0
              - name: moved
                webhook: \(receiver.url("/redirect"))
                headers: { Authorization: { secret: hook_key } }
                retries: 0
            """, name: "try.yml")
        let tried = try golive.run(["notify", "test", "-i", targets], environment: environment)
        #expect(tried.status == 3, "\(tried.output)")
        #expect(tried.output.contains("✓ webhook good") && tried.output.contains("✗ webhook bad") && tried.output.contains("HTTP 500"), "\(tried.output)")
        #expect(!tried.output.contains(Self.token))
        // A redirect is not followed (it could take the headers anywhere) and is not a delivery.
        #expect(tried.output.contains("✗ webhook moved") && tried.output.contains("HTTP 307"), "\(tried.output)")
        #expect(!receiver.requests.contains { $0.path == "/ok/redirected" }, "the redirect was followed")
        #expect(receiver.requests.contains { $0.json?["event"] as? String == "test" })
        // A target naming a secret the inventory does not declare: file, line, exit 2.
        let broken = try inventory("  - webhook: { secret: nowhere }\n", name: "broken.yml")
        let play = try play(failOn: nil, name: "broken-play.yml")
        let refused = try golive.run(["validate", play, "-i", broken], environment: environment)
        #expect(refused.status == 2 && refused.output.contains("broken.yml:") && refused.output.contains("nowhere"), "\(refused.output)")
    }
}
