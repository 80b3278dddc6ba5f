import Foundation
import GoliveTestSupport
import System
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The team store going away in the middle of a go-live, against a real PostgreSQL server this
/// suite starts, stops (`pg_ctl stop -m immediate`) and starts again, real sshd hosts and the real
/// binary: back within the retry time, the run goes on with a complete timeline; gone for good,
/// the hosts are rolled back and the events spilled locally, then replayed by the next command;
/// taken over meanwhile, the old controller touches no host and its spill is kept apart.
@Suite(.serialized) struct StoreOutageTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    let server: PostgresServer
    let database: String
    let url: String

    init() throws {
        live = try LiveHosts(count: 2)
        server = try PostgresServer()
        database = try server.createDatabase()
        url = server.url(database: database)
    }

    /// A controller's machine: its home (and so its spill directory), the store by `GOLIVE_STORE`.
    func machine(_ name: String, store: String? = nil) throws -> [String: String] {
        let home = live.directory + "/home-\(name)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        return server.passwordEnvironment.merging(["HOME": home, "GOLIVE_STORE": store ?? url, "GOLIVE_OPERATOR": name]) { $1 }
    }

    func spills(_ environment: [String: String]) -> [String] {
        let directory = (environment["HOME"] ?? "") + "/.golive/spill"
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".sqlite") }
    }

    /// Two steps after a slow one: the store is stopped while the slow one runs, so the next
    /// append meets it gone.
    func play(seconds: Double, name: String) throws -> String {
        try live.write(
            """
            name: outage release
            hosts: web
            serial: 2
            deploy:
              - name: previous
                shell: basename "$(readlink {{ app_dir }}/current)"
                register: previous
              - name: release
                shell: mkdir -p {{ app_dir }}/releases/2.0.0 && echo ok > {{ app_dir }}/releases/2.0.0/health
                rollback: rm -rf {{ app_dir }}/releases/2.0.0
              - name: slow
                shell: sleep \(seconds)
              - name: switch
                shell: ln -sfn releases/2.0.0 {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
                rollback: ln -sfn releases/{{ previous.stdout }} {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
            """, name: name)
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func trees() throws -> [String: String] {
        try Dictionary(uniqueKeysWithValues: live.hosts.map { ($0.name, try treeListing($0.appDirectory)) })
    }

    /// Waits until the controller's log shows the slow step started on every host.
    func awaitSlowStep(_ log: String) async throws {
        let slow = await eventually(timeout: .seconds(60)) {
            self.read(log).split(separator: "\n").filter { $0.contains("\"stepStarted\"") && $0.contains("\"slow\"") }.count == 2
        }
        try #require(slow, "\(read(log).suffix(1500))")
    }

    func sequences(_ events: [[String: Any]]) -> [Int] { events.compactMap { $0["sequence"] as? Int } }

    @Test func theStoreBackWithinTheRetryTimeTheRunGoesOnAndNothingIsLostOrTwice() async throws {
        let ana = try machine("ana")
        let path = try play(seconds: 2, name: "back.yml")
        let log = live.directory + "/back.log"
        let run = try golive.start(["run", path, "-i", live.inventoryPath, "--json", "--store-retry", "60s"], output: log, environment: ana)
        try await awaitSlowStep(log)
        server.stopImmediately()
        // The slow step ends while the store is down: its end waits, no next step starts.
        let waiting = await eventually(timeout: .seconds(30)) { self.read(log).contains("store-unreachable") }
        #expect(waiting, "\(read(log).suffix(1500))")
        #expect(!read(log).contains("\"stepName\":\"switch\""), "a step started while the store was unreachable")
        try server.start()
        #expect(run.wait() == 0, "\(read(log).suffix(2000))")
        for host in live.hosts { #expect(live.current(host.name) == "2.0.0") }
        let id = try #require(GoliveBinary.runID(in: read(log)))
        let events = try golive.timelineEvents(id, store: url, environment: ana)
        #expect(sequences(events) == Array(1...max(1, events.count)), "gaps or repeats in \(sequences(events))")
        let finished = events.filter { $0["kind"] as? String == "stepFinished" && $0["stepName"] as? String == "slow" }
        #expect(finished.count == 2, "each host's slow step recorded once: \(finished.count)")
        #expect(events.filter { $0["status"] as? String == "store-recovered" }.count == 1, "the outage is on the record once")
        #expect(read(log).components(separatedBy: "\"store-recovered\"").count == 2, "the store's return was told more than once")
        #expect(events.last?["kind"] as? String == "runFinished")
        #expect(spills(ana).isEmpty, "nothing was spilled: \(spills(ana))")
    }

    @Test func theStoreGoneForGoodTheHostsAreRolledBackAndTheSpillIsReplayedLater() async throws {
        let ana = try machine("ana")
        let path = try play(seconds: 1, name: "gone.yml")
        let before = try trees()
        let log = live.directory + "/gone.log"
        let run = try golive.start(["run", path, "-i", live.inventoryPath, "--json", "--store-retry", "3s"], output: log, environment: ana)
        try await awaitSlowStep(log)
        let stopped = Date()
        server.stopImmediately()
        let status = run.wait()
        #expect(status == 1, "rolled back: \(read(log).suffix(2000))")
        #expect(read(log).contains("spill journal"), "the message names the spill: \(read(log).suffix(1500))")
        #expect(try trees() == before, "the hosts are not as they were")
        for host in live.hosts { #expect(!FileManager.default.fileExists(atPath: host.lockDirectory)) }
        let spilled = spills(ana)
        try #require(spilled.count == 1, "\(spilled)")
        let id = try #require(GoliveBinary.runID(in: read(log)))
        #expect(spilled[0].hasPrefix(id))
        try server.start()
        // The next command that reaches the store replays it: the timeline is whole.
        let runs = try golive.run(["runs"], environment: ana)
        #expect(runs.status == 0 && runs.output.contains("replayed into its timeline"), "\(runs.output)")
        #expect(spills(ana).isEmpty, "the spill is kept after its replay: \(spills(ana))")
        let events = try golive.timelineEvents(id, store: url, environment: ana)
        #expect(sequences(events) == Array(1...max(1, events.count)), "gaps or repeats in \(sequences(events))")
        #expect(events.contains { $0["kind"] as? String == "rollbackFinished" } && events.last?["kind"] as? String == "runFinished")
        let rollback = try #require(events.first { $0["kind"] as? String == "rollbackStarted" }?["time"] as? String)
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let started = try #require(format.date(from: rollback))
        print("store unreachable → rollback started: \(String(format: "%.1f", started.timeIntervalSince(stopped))) s (retry 3 s)")
        #expect(try golive.run(["runs", "--json"], environment: ana).output.contains("\"status\":\"rolled-back\""))
        // Its lock was released with the replay: the next run needs no wait.
        let next = try golive.run(["run", path, "-i", live.inventoryPath, "--yes"], environment: ana)
        #expect(next.status == 0, "\(next.output.suffix(1500))")
        // A second replay of the same events (a file left behind) changes nothing.
        #expect(try golive.run(["store", "sync"], environment: ana).status == 0)
        #expect(try golive.timelineEvents(id, store: url, environment: ana).count == events.count)
    }

    /// The store reachable from another machine but not from the controller's: the run is taken
    /// over there and rolled back; the cut-off controller, its retry time up, finds the servers'
    /// locks no longer its own and touches nothing; its spill becomes an orphan record.
    @Test(.enabled(if: geteuid() == 0, "another host name needs a UTS namespace (root)"))
    func aTakeoverDuringTheOutageLeavesTheOldControllerNoHostAndAnOrphanRecord() async throws {
        let relay = try LatencyRelay(to: "127.0.0.1", port: server.port, delay: .zero, loss: 0)
        let cutOff = "postgres://\(server.adminUser)@127.0.0.1:\(relay.port)/\(database)?sslmode=disable"
        let ana = try machine("ana", store: cutOff)
        let bo = try machine("bo")
        let path = try play(seconds: 1, name: "partition.yml")
        let log = live.directory + "/partition.log"
        let first = try golive.start(
            ["run", path, "-i", live.inventoryPath, "--json", "--store-retry", "20s", "--lease", "2s"], output: log, environment: ana)
        try await awaitSlowStep(log)
        relay.stop()
        let waiting = await eventually(timeout: .seconds(30)) { self.read(log).contains("store-unreachable") }
        try #require(waiting, "\(read(log).suffix(1500))")
        let id = try #require(GoliveBinary.runID(in: read(log)))
        let command = "hostname machine-b && exec " + ([golive.path, "resume", id, "--rollback", "--lock-wait", "30s"]).map(ShellQuote.quote).joined(separator: " ")
        let taken = try ChildProcess.run("/usr/bin/unshare", ["--uts", "/bin/sh", "-c", command], environment: bo)
        #expect(taken.status == 0, "\(taken.output.suffix(1500))")
        for host in live.hosts { #expect(live.current(host.name) == "1.0.0", "\(host.name) is not rolled back") }
        let after = try trees()
        let status = first.wait()
        #expect(status == 4, "the cut-off controller lost the run: \(read(log).suffix(2000))")
        #expect(read(log).contains("lost the run"), "\(read(log).suffix(1500))")
        #expect(try trees() == after, "the cut-off controller changed a host after the takeover")
        try #require(spills(ana).count == 1, "\(spills(ana))")
        // Reaching the store again (directly), its spill is kept beside the run, not merged.
        let direct = ana.merging(["GOLIVE_STORE": url]) { $1 }
        let timelineBefore = try golive.timelineEvents(id, store: url, environment: bo)
        let runs = try golive.run(["runs"], environment: direct)
        #expect(runs.output.contains("orphan record"), "\(runs.output)")
        #expect(spills(ana).isEmpty)
        let timelineAfter = try golive.timelineEvents(id, store: url, environment: bo)
        #expect(timelineAfter.count == timelineBefore.count, "the orphan was merged into the run")
        let orphans = try golive.run(["timeline", id, "--orphans"], environment: bo)
        #expect(orphans.status == 0 && orphans.output.contains("NOT part of the run's timeline"), "\(orphans.output)")
        let text = try golive.run(["timeline", id], environment: bo)
        #expect(text.output.contains("orphan record"), "\(text.output.suffix(500))")
    }
}
