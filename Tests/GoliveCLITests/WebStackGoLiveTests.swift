import Foundation
import GoliveTestSupport
import Sandbox
import System
import Testing

/// `playbooks/release.yml` on the real stack of `examples/web-stack` (HAProxy → nginx → gunicorn on
/// four web hosts, PostgreSQL 15 on db1) while a load generator sends 200 requests a second through
/// HAProxy: the go-live, its rehearsal's rollback and both failing go-lives fail **no request**,
/// and a rollback leaves the hosts' files, the releases answering and the schema as they were.
///
/// Each test starts a stack of its own (about 4 s) and runs one to three go-lives of 10-20 s under
/// load: the suite takes about two minutes, the time real services take to be drained, restarted
/// and put back.
@Suite(.serialized, .enabled(if: WebStack.isAvailable, "the stack needs root, network namespaces, nginx, HAProxy, gunicorn and socat"))
struct WebStackGoLiveTests {
    let golive = GoliveBinary()
    var playbook: String { golive.root + "/playbooks/release.yml" }

    private func goLive(_ stack: WebStack, _ arguments: [String], store: String, playbook: String? = nil) throws -> (status: Int32, output: String) {
        try golive.run(arguments + [playbook ?? self.playbook, "-i", stack.inventory, "--yes", "--store", store])
    }

    /// Each web host's application directory, listed (modes, links, contents' digests).
    private func trees(_ stack: WebStack) throws -> [String: String] {
        var trees: [String: String] = [:]
        for host in ["web1", "web2", "web3", "web4"] { trees[host] = try treeListing(stack.hostRoot(host) + "/srv/app") }
        return trees
    }

    /// No request failed (no status but 2xx, no connection error, no answer slower than the load
    /// generator's 2 s timeout), and the traffic never stalled: no answer took 1.5 s, and fewer than
    /// 5% of the requests could not be sent on time (a pause of the site shorter than the timeout
    /// fails no request but shows here).
    private func expectEveryRequestAnswered(_ counts: WebStack.Load, _ what: String) {
        #expect(counts.failed == 0, "\(what): failed requests: \(counts.failures)")
        #expect(counts.slowestMS < 1500, "\(what): an answer took \(counts.slowestMS) ms: \(counts.stalls(over: 1500))")
        #expect(counts.missed * 20 < counts.ok, "\(what): \(counts.missed) requests not sent on time: \(counts.stalls(over: 1500))")
        #expect(counts.ok > 500, "\(what): only \(counts.ok) answers")
    }

    /// Runs `body` while the load generator sends requests through HAProxy, and lets it run on for
    /// 1.5 s after: what `body` returned, the counts, and the first whole second after `body` ended.
    private func underLoad<T>(_ stack: WebStack, name: String = "load", _ body: () throws -> T) throws -> (result: T, counts: WebStack.Load, ended: Int) {
        let load = try stack.startLoad(name: name)
        let result = try body()
        let ended = Int(Date().timeIntervalSince1970) + 1
        usleep(1_500_000)
        return (result, try load.stop(), ended)
    }

    /// The hosts themselves, not golive's words: every web host's `current` is `release`, each
    /// answers it itself, and HAProxy has each one UP.
    private func expectEveryHostServes(_ release: String, _ stack: WebStack) throws {
        let hosts = ["web1", "web2", "web3", "web4"]
        #expect(stack.currentReleases() == Dictionary(uniqueKeysWithValues: hosts.map { ($0, release) }))
        #expect(stack.directHealth() == Dictionary(uniqueKeysWithValues: hosts.map { ($0, "ok " + release) }))
        #expect(try stack.balancerStates() == Dictionary(uniqueKeysWithValues: hosts.map { ($0, "UP") }))
    }

    private func time(_ event: [String: Any]?) -> Date? {
        (event?["time"] as? String).flatMap { try? Date($0, strategy: .iso8601) }
    }

    /// The schema the database is at: its migrations, and the columns of `orders`.
    private func schema(_ stack: WebStack) throws -> String {
        try stack.sql("SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations") + " / "
            + stack.sql("SELECT string_agg(column_name::text, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'orders'")
    }

    /// `release.yml` with a window around now (an hour, a 5-minute rollback reserve), beside it so its
    /// files resolve; the caller removes it.
    private func windowed() throws -> String {
        let formatter = ISO8601DateFormatter()
        let window = "window: { start: \"\(formatter.string(from: Date().addingTimeInterval(-60)))\", "
            + "end: \"\(formatter.string(from: Date().addingTimeInterval(3600)))\", rollback_reserve: 5m }\n"
        let text = try String(contentsOfFile: playbook, encoding: .utf8).replacingOccurrences(of: "\nvars:\n", with: "\n" + window + "vars:\n")
        let path = golive.root + "/playbooks/.plan-test-release-\(UInt32.random(in: 0...UInt32.max)).yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aRehearsedGoLiveUnderLoadFailsNoRequestAndTakesAboutWhatWasPredicted() throws {
        let stack = try WebStack()
        defer { stack.down() }
        let store = stack.directory + "/../golive.sqlite"
        let playbook = try windowed()
        defer { try? FileManager.default.removeItem(atPath: playbook) }
        let before = try trees(stack)
        #expect(try schema(stack) == "001_initial / id,item")

        // The rehearsal, rolled back on purpose: out and back under load, and nothing lost either way.
        let (rehearsal, rehearsalCounts, rehearsed) = try underLoad(stack, name: "rehearsal") {
            try goLive(stack, ["rehearse", "--rollback-after"], store: store, playbook: playbook)
        }
        #expect(rehearsal.status == 0, "\(rehearsal.output.suffix(3000))")
        expectEveryRequestAnswered(rehearsalCounts, "rehearsal")
        #expect(rehearsalCounts.releases(from: 0)["2.0.0", default: 0] > 0, "the rehearsal served 2.0.0 before its rollback")
        #expect(rehearsalCounts.releases(from: rehearsed).keys.sorted() == ["1.0.0"])
        #expect(try schema(stack) == "001_initial / id,item")
        #expect(try trees(stack) == before, "the rehearsal's rollback left the hosts' files as they were")
        try expectEveryHostServes("1.0.0", stack)

        // The plan shows what the rehearsal predicts, and how it fits the window.
        let plan = try golive.run(["plan", playbook, "-i", stack.inventory, "--store", store, "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(plan.output.utf8)) as? [String: Any], "\(plan.output)")
        let prediction = try #require(document["prediction"] as? [String: Any], "\(plan.output.prefix(500))")
        let predicted = try #require(prediction["run_seconds"] as? Double)
        #expect(prediction["fits"] as? Bool == true && (prediction["rollback_seconds"] as? Double ?? 0) > 0, "\(prediction)")
        let markdown = try golive.run(["plan", playbook, "-i", stack.inventory, "--store", store, "--format", "md"]).output
        #expect(markdown.contains("Expected run (from rehearsal"), "\(markdown.prefix(1500))")
        #expect(markdown.contains("Fits before the rollback point | yes, "), "\(markdown.prefix(2500))")

        // The go-live itself, under load: every host on 2.0.0, the migration applied, the dump checksummed.
        let (run, counts, ended) = try underLoad(stack, name: "run") { try goLive(stack, ["run"], store: store, playbook: playbook) }
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        expectEveryRequestAnswered(counts, "go-live")
        #expect(counts.releases(from: ended).keys.sorted() == ["2.0.0"])
        try expectEveryHostServes("2.0.0", stack)
        #expect(try schema(stack) == "001_initial,002_order_notes / id,item,note")
        let id = try #require(run.output.firstMatch(of: /timeline (\d{8}-\d{6}-[0-9a-f]{4})/)?.1).description
        let backups = stack.hostRoot("db1") + "/backups"
        let check = try ChildProcess.run("/bin/sh", ["-c", "cd \(backups) && sha256sum -c shop-\(id).dump.sha256"])
        #expect(check.status == 0, "\(check.output)")

        // The run took about what the rehearsal predicted (the same hosts, steps and batches).
        let events = try golive.timelineEvents(id, store: store)
        let start = try #require(time(events.first { $0["kind"] as? String == "runStarted" }))
        let end = try #require(time(events.last { $0["kind"] as? String == "batchFinished" }))
        let actual = end.timeIntervalSince(start)
        #expect(abs(actual - predicted) / predicted < 0.35, "predicted \(predicted) s, took \(actual) s")
    }

    /// A go-live with `fault`, under load, on a stack of its own: it fails, no request fails, and the
    /// rollback leaves every host on 1.0.0, the schema old and the hosts' files as they were.
    /// Returns its output, the counts, and the first second after it ended.
    private func rolledBack(fault: String) throws -> (output: String, counts: WebStack.Load, ended: Int) {
        let stack = try WebStack()
        defer { stack.down() }
        let before = try trees(stack)
        let (run, counts, ended) = try underLoad(stack) {
            try goLive(stack, ["run", "-e", "fault=\(fault)"], store: stack.directory + "/../golive.sqlite")
        }
        #expect(run.status == 1, "\(run.output.suffix(3000))")
        expectEveryRequestAnswered(counts, "fault=\(fault)")
        #expect(counts.releases(from: ended).keys.sorted() == ["1.0.0"])
        #expect(try schema(stack) == "001_initial / id,item", "the down-migration ran after the web hosts were back")
        #expect(try trees(stack) == before)
        try expectEveryHostServes("1.0.0", stack)
        return (run.output, counts, ended)
    }

    @Test func aReleaseAnswering500IsCaughtBeforeAnyUserRequestReachesIt() throws {
        let (output, counts, _) = try rolledBack(fault: "endpoint")
        #expect(output.contains("its orders answer: HTTP 500, expected 200"), "\(output.suffix(2000))")
        // The hosts were drained before they changed and never put back: no user saw 2.0.0.
        #expect(counts.releases(from: 0).keys.sorted() == ["1.0.0"])
    }

    @Test func aFaultOnTheSecondBatchTakesTheFirstBackWithoutAFailedRequest() throws {
        let (output, counts, ended) = try rolledBack(fault: "batch2")
        #expect(output.contains("web3: the new release is healthy on the host: HTTP 500"), "\(output.suffix(2000))")
        // Batch 1 served 2.0.0 until the rollback took it back.
        #expect(counts.releases(from: 0)["2.0.0", default: 0] > 0)
        #expect(counts.releases(from: ended).keys.sorted() == ["1.0.0"])
    }

    /// Batch 2's hosts cannot start their app again (their entry point is broken: the old release
    /// cannot come back either). The rollback never drains the last host HAProxy has UP, so the site
    /// keeps answering; and the down-migration is held, since a web host is still on 2.0.0, which
    /// needs the new schema. Once the hosts are mended, `golive rollback RUN` finishes it.
    @Test func aRollbackThatCannotFinishKeepsTheSiteUpAndHoldsTheDownMigration() throws {
        let stack = try WebStack()
        defer { stack.down() }
        let store = stack.directory + "/../golive.sqlite"
        var entryPoints: [String: String] = [:]
        for host in ["web3", "web4"] {
            let path = stack.hostRoot(host) + "/srv/app/webshop_wsgi.py"
            entryPoints[host] = try String(contentsOfFile: path, encoding: .utf8)
            try "raise RuntimeError('this host cannot start its app')\n".write(toFile: path, atomically: true, encoding: .utf8)
        }
        let (finish, counts, ended) = try underLoad(stack) {
            let run = try goLive(stack, ["run"], store: store)
            #expect(run.status == 4, "\(run.output.suffix(3000))")
            #expect(run.output.contains("not rolled back: play db (db1)"), "\(run.output.suffix(3000))")
            // While web3 and web4 were out and web1 drained, web2's drain was refused (it was the only
            // server UP), then taken once web1 was back: both are back on 1.0.0.
            let events = try golive.timelineEvents(nil, store: store)
            let web2Undos = events.filter { $0["kind"] as? String == "rollbackStepFinished" && $0["host"] as? String == "web2" }
            #expect(
                web2Undos.contains { event in
                    event["status"] as? String != "ok"
                        && ["message", "stdout", "stderr"].contains { key in (event[key] as? String ?? "").contains("refused: no other server of app is UP") }
                }, "\(web2Undos)")
            #expect(stack.directHealth()["web1"] == "ok 1.0.0" && stack.directHealth()["web2"] == "ok 1.0.0")
            // The migration stays: the plays before the web hosts' wait until all of them are back.
            #expect(try schema(stack) == "001_initial,002_order_notes / id,item,note")
            let states = try stack.balancerStates()
            #expect(states.values.filter { $0 == "UP" }.count >= 1, "\(states)")

            // Mended (the entry point back, the app started), the rollback is finished.
            for (host, text) in entryPoints {
                try text.write(toFile: stack.hostRoot(host) + "/srv/app/webshop_wsgi.py", atomically: true, encoding: .utf8)
                let start = try ChildProcess.run(stack.hostRoot(host) + "/usr/local/bin/webshop-ctl", ["start"])
                #expect(start.status == 0, "\(start.output)")
            }
            let id = try #require(run.output.firstMatch(of: /timeline (\d{8}-\d{6}-[0-9a-f]{4})/)?.1).description
            return try golive.run(["rollback", id, "--store", store])
        }
        #expect(finish.status == 0, "\(finish.output.suffix(3000))")
        expectEveryRequestAnswered(counts, "a rollback that could not finish, then finished")
        #expect(counts.releases(from: ended).keys.sorted() == ["1.0.0"])
        try expectEveryHostServes("1.0.0", stack)
        #expect(try schema(stack) == "001_initial / id,item")
    }

    /// `webshop-ctl restart` returns only once every new worker has loaded the release — never
    /// while one still reads its files (a rollback restores them right after) — and a release whose
    /// workers cannot load fails it instead of leaving a host without its app.
    @Test func aGracefulRestartReturnsOnceEveryWorkerServes() throws {
        let stack = try WebStack()
        defer { stack.down() }
        let root = stack.hostRoot("web1"), control = stack.hostRoot("web1") + "/usr/local/bin/webshop-ctl"
        let conf = root + "/srv/app/releases/1.0.0/app.conf"
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        try text.replacingOccurrences(of: "[app]\n", with: "[app]\nboot_delay = 1.5\n").write(toFile: conf, atomically: true, encoding: .utf8)
        let began = ContinuousClock.now
        let restart = try ChildProcess.run(control, ["restart"])
        let took = began.duration(to: .now)
        #expect(restart.status == 0, "\(restart.output)")
        #expect(took >= .seconds(1.5), "restart returned after \(took), before its workers had loaded the app")
        let master = try String(contentsOfFile: root + "/run/gunicorn.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let workers = try HostTools.output("/usr/bin/pgrep", ["-P", master]).split(separator: "\n").map(String.init)
        #expect(workers.count == 2)
        for worker in workers { #expect(try String(contentsOfFile: root + "/run/ready/" + worker, encoding: .utf8) == "1.0.0\n") }
        #expect(stack.directHealth()["web1"] == "ok 1.0.0")

        // A release whose workers cannot load (its files gone): restart fails, and says where to look.
        try FileManager.default.removeItem(atPath: root + "/srv/app/releases/1.0.0/VERSION")
        let broken = try ChildProcess.run(control, ["restart"])
        #expect(broken.status != 0)
        #expect(broken.output.contains("app-error.log"), "\(broken.output)")
    }

    /// `examples/web-stack/demo.sh`: rehearsal, the plan's prediction, a failing release rolled back,
    /// the working one — each with its request counts — and the record left behind.
    @Test func theStackDemoShowsTheCountsAndLeavesTheRecord() throws {
        let base = try TestHosts.makeTemporaryDirectory(name: "stack-demo")
        chmod(base, 0o755)
        defer {
            _ = try? golive.run(["sandbox", "down", "--directory", base + "/stack"])
            try? FileManager.default.removeItem(atPath: base)
        }
        let (status, output) = try ChildProcess.run(
            "/bin/bash", [golive.root + "/examples/web-stack/demo.sh"],
            environment: ["GOLIVE_DEMO_SKIP_SETUP": "1", "GOLIVE_DEMO_DIR": base + "/stack", "GOLIVE_BINARY": golive.path])
        #expect(status == 0, "\(output.suffix(3000))")
        let counts = output.split(separator: "\n").filter { $0.contains("requests: ") }.map(String.init)
        #expect(counts.count == 3, "\(counts)")
        // The rehearsal and the failed release count a rollback; the release does not.
        #expect(counts.filter { $0.contains(" ok, 0 failed during go-live; ") && $0.hasSuffix(" ok, 0 failed during rollback") }.count == 2, "\(counts)")
        #expect(counts.last?.hasSuffix(" ok, 0 failed during go-live") == true, "\(counts)")
        #expect(output.contains("prediction: "))
        for host in ["web1", "web2", "web3", "web4"] {
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: base + "/stack/hosts/\(host)/srv/app/current") == "releases/2.0.0")
        }
        for file in ["stack-timeline.html", "stack-report.html"] { #expect(FileManager.default.fileExists(atPath: base + "/" + file), "\(file)") }
    }
}
