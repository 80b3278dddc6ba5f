import Foundation
import GoliveTestSupport
import System
import Testing

/// `playbooks/release.yml` on the real stack of `examples/web-stack` (HAProxy → nginx → gunicorn on
/// four web hosts, PostgreSQL 15 on db1) while a load generator sends 200 requests a second through
/// HAProxy: the go-live, its rehearsal's rollback and both failing go-lives fail **no request**,
/// and a rollback leaves the hosts' files, the releases answering and the schema as they were.
///
/// Each test starts a stack of its own (about 4 s) and runs one or two go-lives of 10-15 s under
/// load: the suite takes about a minute, the time real services take to be drained, restarted and
/// put back.
@Suite(.serialized, .enabled(if: WebStack.isAvailable, "the stack needs root, network namespaces, nginx, HAProxy, gunicorn and socat"))
struct WebStackGoLiveTests {
    let golive = GoliveBinary()
    var playbook: String { golive.root + "/playbooks/release.yml" }

    private func goLive(_ stack: WebStack, _ arguments: [String], store: String) throws -> (status: Int32, output: String) {
        try golive.run(arguments + [playbook, "-i", stack.inventory, "--yes", "--store", store])
    }

    /// Each web host's application directory, listed (modes, links, contents' digests).
    private func trees(_ stack: WebStack) throws -> [String: String] {
        var trees: [String: String] = [:]
        for host in ["web1", "web2", "web3", "web4"] { trees[host] = try treeListing(stack.hostRoot(host) + "/srv/app") }
        return trees
    }

    private func time(_ event: [String: Any]?) -> Date? {
        (event?["time"] as? String).flatMap { try? Date($0, strategy: .iso8601) }
    }

    /// The schema the database is at: its migrations, and the columns of `orders`.
    private func schema(_ stack: WebStack) throws -> String {
        try stack.sql("SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations") + " / "
            + stack.sql("SELECT string_agg(column_name::text, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'orders'")
    }

    @Test func aRehearsedGoLiveUnderLoadFailsNoRequestAndTakesAboutWhatWasPredicted() throws {
        let stack = try WebStack()
        defer { stack.down() }
        let store = stack.directory + "/../golive.sqlite"
        let before = try trees(stack)
        #expect(try schema(stack) == "001_initial / id,item")

        // The rehearsal, rolled back on purpose: out and back under load, and nothing lost either way.
        let rehearsalLoad = try stack.startLoad(name: "rehearsal")
        let rehearsal = try goLive(stack, ["rehearse", "--rollback-after"], store: store)
        let rehearsed = Int(Date().timeIntervalSince1970) + 1
        usleep(1_500_000)
        let rehearsalCounts = try rehearsalLoad.stop()
        #expect(rehearsal.status == 0, "\(rehearsal.output.suffix(3000))")
        #expect(rehearsalCounts.failed == 0, "failed requests: \(rehearsalCounts.failures)")
        #expect(rehearsalCounts.ok > 1000)
        #expect(rehearsalCounts.releases(from: 0)["2.0.0", default: 0] > 0, "the rehearsal served 2.0.0 before its rollback")
        #expect(rehearsalCounts.releases(from: rehearsed).keys.sorted() == ["1.0.0"])
        #expect(try schema(stack) == "001_initial / id,item")
        #expect(try trees(stack) == before, "the rehearsal's rollback left the hosts' files as they were")

        // The plan shows what the rehearsal predicts.
        let plan = try golive.run(["plan", playbook, "-i", stack.inventory, "--store", store, "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(plan.output.utf8)) as? [String: Any], "\(plan.output)")
        let predicted = try #require((document["prediction"] as? [String: Any])?["run_seconds"] as? Double, "\(plan.output.prefix(500))")
        let markdown = try golive.run(["plan", playbook, "-i", stack.inventory, "--store", store, "--format", "md"]).output
        #expect(markdown.contains("Expected run (from rehearsal"), "\(markdown.prefix(1500))")

        // The go-live itself, under load: every host on 2.0.0, the migration applied, the dump checksummed.
        let load = try stack.startLoad(name: "run")
        let run = try goLive(stack, ["run"], store: store)
        let ended = Int(Date().timeIntervalSince1970) + 1
        usleep(1_500_000)
        let counts = try load.stop()
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        #expect(counts.failed == 0, "failed requests: \(counts.failures)")
        #expect(counts.ok > 1000)
        #expect(counts.releases(from: ended).keys.sorted() == ["2.0.0"])
        #expect(stack.currentReleases() == ["web1": "2.0.0", "web2": "2.0.0", "web3": "2.0.0", "web4": "2.0.0"])
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

    @Test func aReleaseAnswering500IsCaughtBeforeAnyUserRequestReachesIt() throws {
        let stack = try WebStack()
        defer { stack.down() }
        let store = stack.directory + "/../golive.sqlite"
        let before = try trees(stack)
        let load = try stack.startLoad()
        let run = try goLive(stack, ["run", "-e", "fault=endpoint"], store: store)
        usleep(1_500_000)
        let counts = try load.stop()
        #expect(run.status == 1, "\(run.output.suffix(3000))")
        #expect(run.output.contains("its orders answer: HTTP 500, expected 200"), "\(run.output.suffix(2000))")
        #expect(counts.failed == 0, "failed requests: \(counts.failures)")
        // The hosts were drained before they changed and never put back: no user saw 2.0.0.
        #expect(counts.releases(from: 0).keys.sorted() == ["1.0.0"])
        #expect(stack.currentReleases() == ["web1": "1.0.0", "web2": "1.0.0", "web3": "1.0.0", "web4": "1.0.0"])
        #expect(try schema(stack) == "001_initial / id,item", "the down-migration ran after the web hosts were back")
        #expect(try trees(stack) == before)
    }

    @Test func aFaultOnTheSecondBatchTakesTheFirstBackWithoutAFailedRequest() throws {
        let stack = try WebStack()
        defer { stack.down() }
        let store = stack.directory + "/../golive.sqlite"
        let before = try trees(stack)
        let load = try stack.startLoad()
        let run = try goLive(stack, ["run", "-e", "fault=batch2"], store: store)
        let ended = Int(Date().timeIntervalSince1970) + 1
        usleep(1_500_000)
        let counts = try load.stop()
        #expect(run.status == 1, "\(run.output.suffix(3000))")
        #expect(run.output.contains("web3: the new release is healthy on the host: HTTP 500"), "\(run.output.suffix(2000))")
        #expect(counts.failed == 0, "failed requests: \(counts.failures)")
        // Batch 1 served 2.0.0 until the rollback took it back; after the run only 1.0.0 answers.
        #expect(counts.releases(from: 0)["2.0.0", default: 0] > 0)
        #expect(counts.releases(from: ended).keys.sorted() == ["1.0.0"])
        #expect(stack.currentReleases() == ["web1": "1.0.0", "web2": "1.0.0", "web3": "1.0.0", "web4": "1.0.0"])
        #expect(try schema(stack) == "001_initial / id,item")
        #expect(try trees(stack) == before)
    }
}
