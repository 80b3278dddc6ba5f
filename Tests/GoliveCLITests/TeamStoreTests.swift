import Foundation
import GoliveTestSupport
import System
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One PostgreSQL store for the whole team, end to end: two controllers "on two machines" (two
/// processes with their own home directory and their own SQLite default, one store URL) share one
/// timeline and one lock; `watch` on the second follows the first live; a controller killed at
/// random is resumed from the other; and the database holds no secret. A real PostgreSQL server,
/// real sshd hosts, the real binary.
@Suite(.serialized) struct TeamStoreTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    let server: PostgresServer
    let url: String
    let database: String

    init() throws {
        live = try LiveHosts(count: 2)
        server = try PostgresServer.shared()
        database = try server.createDatabase()
        url = server.url(database: database)
    }

    /// A controller's machine: its own home and working directory, the shared store by `GOLIVE_STORE`
    /// (the PostgreSQL database, or `store` when given).
    func machine(_ name: String, store: String? = nil) throws -> [String: String] {
        let home = live.directory + "/home-\(name)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        return server.passwordEnvironment.merging(["HOME": home, "GOLIVE_STORE": store ?? url, "GOLIVE_OPERATOR": name]) { $1 }
    }

    func slowPlay(seconds: Double, name: String = "slow.yml") throws -> String {
        try live.write(
            """
            name: slow release
            hosts: web
            serial: 2
            deploy:
              - name: previous
                shell: basename "$(readlink {{ app_dir }}/current)"
                register: previous
              - name: release
                shell: mkdir -p {{ app_dir }}/releases/2.0.0 && echo ok > {{ app_dir }}/releases/2.0.0/health
                rollback: rm -rf {{ app_dir }}/releases/2.0.0
              - name: switch
                shell: sleep \(seconds); ln -sfn releases/2.0.0 {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
                rollback: ln -sfn releases/{{ previous.stdout }} {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
            """, name: name)
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    @Test func aSecondControllerIsRefusedThenWaitsAndRunsOnOneTimeline() async throws {
        let ana = try machine("ana")
        let bo = try machine("bo")
        let play = try slowPlay(seconds: 3)
        let log = live.directory + "/ana.log"
        let first = try golive.start(["run", play, "-i", live.inventoryPath, "--json"], output: log, environment: ana)
        let switching = await eventually(timeout: .seconds(60)) { self.read(log).contains("\"stepName\":\"switch\"") }
        try #require(switching, "\(read(log).suffix(1500))")
        let firstID = try #require(GoliveBinary.runID(in: read(log)))
        // From the other machine: refused, naming who holds the environment and with which run.
        let refused = try golive.run(["run", play, "-i", live.inventoryPath, "--yes"], environment: bo)
        #expect(refused.status == 3, "\(refused.output.suffix(1500))")
        #expect(refused.output.contains(firstID) && refused.output.contains("ana"), "\(refused.output.suffix(1500))")
        // Then it waits for the lock, and runs once the first is done.
        let waited = try golive.run(["run", play, "-i", live.inventoryPath, "--yes", "--lock-wait", "2m", "--json"], environment: bo)
        #expect(waited.status == 0, "\(waited.output.suffix(1500))")
        #expect(first.wait() == 0, "\(read(log).suffix(1500))")
        let secondID = try #require(GoliveBinary.runID(in: waited.output))
        // One timeline: both runs, from either machine, the second's steps after the first's end.
        let listed = try golive.run(["runs", "--json"], environment: ana)
        #expect(listed.status == 0 && listed.output.contains(firstID) && listed.output.contains(secondID), "\(listed.output)")
        let firstEvents = try golive.timelineEvents(firstID, store: url, environment: bo)
        let secondEvents = try golive.timelineEvents(secondID, store: url, environment: ana)
        let firstEnd = try #require(firstEvents.last { $0["kind"] as? String == "runFinished" }?["time"] as? String)
        let secondStep = try #require(secondEvents.first { $0["kind"] as? String == "stepStarted" }?["time"] as? String)
        #expect(secondStep >= firstEnd, "the second run acted before the first ended: \(secondStep) < \(firstEnd)")
        #expect(secondEvents.contains { ($0["message"] as? String)?.contains("waiting") == true || $0["kind"] as? String == "lockAcquired" })
        // Neither machine made a SQLite store of its own.
        for home in [ana["HOME"], bo["HOME"]].compactMap({ $0 }) {
            #expect(!FileManager.default.fileExists(atPath: home + "/.golive"))
        }
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: play).deletingLastPathComponent().path + "/.golive/golive.sqlite"))
        // The report and the timeline read the shared store from anywhere.
        #expect(try golive.run(["report", firstID], environment: bo).status == 0)
        _ = try golive.run(["rollback", secondID, "--yes"], environment: bo)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/tmux"), "needs tmux"))
    func watchOnAnotherMachineFollowsTheRunLive() async throws {
        let ana = try machine("ana")
        let bo = try machine("bo")
        let play = try slowPlay(seconds: 2, name: "watched.yml")
        let log = live.directory + "/watched.log"
        let run = try golive.start(["run", play, "-i", live.inventoryPath, "--json"], output: log, environment: ana)
        let started = await eventually(timeout: .seconds(60)) { self.read(log).contains("runStarted") }
        try #require(started)
        let session = "golive-team-\(UInt32.random(in: 0...UInt32.max))"
        _ = try HostTools.output("/usr/bin/tmux", ["new-session", "-d", "-s", session, "-x", "100", "-y", "30", "/bin/bash --norc --noprofile"])
        defer { _ = try? HostTools.output("/usr/bin/tmux", ["kill-session", "-t", session]) }
        let exports = bo.map { "\($0.key)=\(ShellQuote.quote($0.value))" }.sorted().joined(separator: " ")
        _ = try HostTools.output("/usr/bin/tmux", ["send-keys", "-t", session, "env \(exports) \(golive.path) watch; echo WATCH-EXIT=$?", "Enter"])
        @Sendable func screen() -> String { (try? HostTools.output("/usr/bin/tmux", ["capture-pane", "-p", "-t", session])) ?? "" }
        let following = await eventually(timeout: .seconds(30)) { screen().contains("web1") && screen().contains("golive watch") }
        #expect(following, "\(screen())")
        #expect(run.wait() == 0, "\(read(log).suffix(1500))")
        // The end is on the other machine's screen within a second of the controller's exit (the
        // end was committed before it).
        let ended = ContinuousClock.now
        let shown = await eventually(timeout: .seconds(10)) { screen().contains("[succeeded]") && screen().contains("phase: finished") }
        #expect(shown, "\(screen())")
        #expect(ended.duration(to: .now) < .seconds(1), "the end reached the watch \(ended.duration(to: .now)) after the controller exited")
        _ = try HostTools.output("/usr/bin/tmux", ["send-keys", "-t", session, "q"])
        #expect(await eventually(timeout: .seconds(10)) { screen().contains("WATCH-EXIT=0") })
        let id = try #require(GoliveBinary.runID(in: read(log)))
        _ = try golive.run(["rollback", id, "--yes"], environment: bo)
    }

    /// SIGKILLed at a random event, the controller's run is resumed from the other machine: the hosts
    /// end entirely new, the journal has no gap, and the lock is free for the next round.
    /// `GOLIVE_TEAM_KILL_RUNS` rounds (10) from a fixed seed.
    @Test func aControllerKilledAnywhereIsResumedFromTheOtherMachine() async throws {
        let ana = try machine("ana")
        let bo = try machine("bo")
        let rounds = Int(ProcessInfo.processInfo.environment["GOLIVE_TEAM_KILL_RUNS"] ?? "") ?? 10
        var generator = SplitMix64(seed: 20_261_202)
        let play = try slowPlay(seconds: 0.2, name: "killed.yml")
        // The other machine has its own checkout of the playbook and inventory, elsewhere.
        let checkout = try #require(bo["HOME"]) + "/checkout"
        try FileManager.default.createDirectory(atPath: checkout, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: play, toPath: checkout + "/killed.yml")
        // (Its key and known_hosts are where its inventory says, wherever the checkout is.)
        try String(contentsOfFile: live.inventoryPath, encoding: .utf8)
            .replacingOccurrences(of: " sandbox/", with: " \(live.directory)/sandbox/")
            .write(toFile: checkout + "/inventory.yml", atomically: true, encoding: .utf8)
        let copies = ["--playbook", checkout + "/killed.yml", "-i", checkout + "/inventory.yml"]
        let old = try Dictionary(uniqueKeysWithValues: live.hosts.map { ($0.name, try treeListing($0.appDirectory)) })
        for round in 1...rounds {
            let point = Int.random(in: 2...25, using: &generator)
            let label = "round \(round): killed after event \(point)"
            let log = live.directory + "/killed-\(round).log"
            let first = try golive.start(
                ["run", play, "-i", live.inventoryPath, "--json", "--lease", "1s"], output: log,
                environment: ana.merging(["GOLIVE_FAULT_KILL_AFTER_EVENTS": String(point)]) { $1 })
            let status = first.wait()
            let id = try #require(GoliveBinary.runID(in: read(log)), "\(label): \(read(log).suffix(800))")
            if status == 137 {
                if round == 1 {
                    let missing = try golive.run(["resume", id, "--yes", "--playbook", checkout + "/gone.yml"], environment: bo)
                    #expect(missing.status == 2 && missing.output.contains("is not on this machine"), "\(missing.output.suffix(600))")
                }
                // The lock is still held until the 1 s lease runs out: the other machine waits for it.
                let resumed = try golive.run(["resume", id, "--yes", "--lock-wait", "30s"] + copies, environment: bo)
                #expect(resumed.status == 0, "\(label): \(resumed.output.suffix(1200))")
            } else {
                #expect(status == 0, "\(label): \(read(log).suffix(800))")
            }
            for host in live.hosts {
                #expect(live.current(host.name) == "2.0.0", "\(label): \(host.name) is on \(live.current(host.name) ?? "?")")
                #expect(!FileManager.default.fileExists(atPath: host.root + "/var/tmp/golive/lock"), "\(label): \(host.name) is still locked")
            }
            let sequence = try golive.timelineEvents(id, store: url, environment: bo).compactMap { $0["sequence"] as? Int }
            #expect(sequence == Array(1...max(1, sequence.count)), "\(label): gaps in \(sequence)")
            print("team kill loop \(label): controller exit \(status), \(sequence.count) events")
            let back = try golive.run(["rollback", id, "--yes"], environment: bo)
            #expect(back.status == 0, "\(label): \(back.output.suffix(800))")
            for host in live.hosts {
                #expect(try treeListing(host.appDirectory) == old[host.name], "\(label): \(host.name) is not entirely old after the rollback")
            }
        }
    }

    /// Neither a secret the run used and printed, nor the store's own password, is anywhere in the
    /// database: `pg_dump` of every table, grepped.
    @Test func theDatabaseHoldsNoSecretAndNoStorePassword() throws {
        let ana = try machine("ana")
        let secret = "pgS3cret-\(UInt32.random(in: 100_000...999_999))-Zq"
        let inventory = try live.write(
            try String(contentsOfFile: live.inventoryPath, encoding: .utf8) + "secrets:\n  token: { env: TEAM_TOKEN }\n",
            name: "team-secret-inventory.yml")
        let play = try live.write(
            """
            name: secret use
            hosts: web1
            deploy:
              - name: use it
                shell: echo "token {{ token }}" && echo "{{ token | upper }}" >&2
              - name: what the controller's commands see
                local: env; printf 'binary\\000output'
                rollback: none
              - name: fail with it
                shell: echo "bad {{ token }}"; exit 3
            """, name: "secret-use.yml")
        let run = try golive.run(["run", play, "-i", inventory], environment: ana.merging(["TEAM_TOKEN": secret]) { $1 })
        #expect(run.status == 1, "\(run.output.suffix(800))")
        #expect(!run.output.contains(secret) && !run.output.contains(server.adminPassword))
        let dump = try server.dump(database: database)
        #expect(dump.contains("secret use") && dump.contains("token ••••"), "the run is not in the dump")
        // The controller-side step ran and printed its environment (and a NUL, kept as ␀).
        #expect(dump.contains("binary\u{2400}output") && dump.contains("GOLIVE_OPERATOR=ana"), "the local step's output is not in the dump")
        for form in [secret, secret.uppercased(), secret.lowercased(), server.adminPassword] {
            #expect(!dump.contains(form), "the database holds \(form)")
        }
        // Nor does the store URL anything shows.
        let summary = run.output.split(separator: "\n").first { $0.contains("--store") } ?? ""
        #expect(summary.contains("postgres://golive_admin@127.0.0.1:\(server.port)/\(database)"), "\(summary)")
    }

    /// `golive ARGS` as on another machine: its own host name (a UTS namespace), so the first
    /// controller's pid means nothing to it and only the lease can say whether that one is alive.
    func elsewhere(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let command = "hostname machine-b && exec " + ([golive.path] + arguments).map(ShellQuote.quote).joined(separator: " ")
        return try ChildProcess.run("/usr/bin/unshare", ["--uts", "/bin/sh", "-c", command], environment: environment)
    }

    /// A controller paused on one machine keeps the run while its lease lives (a recovery from the
    /// other machine is refused); once the lease has run out the other machine takes the run over
    /// and rolls it back, and the paused controller, woken, is fenced out: it acts on no host again.
    @Test(.enabled(if: geteuid() == 0, "another host name needs a UTS namespace (root)"))
    func aPausedControllerIsTakenOverFromAnotherMachineAndFencedOut() async throws {
        let ana = try machine("ana")
        let bo = try machine("bo")
        let play = try slowPlay(seconds: 8, name: "paused.yml")
        let log = live.directory + "/paused.log"
        let first = try golive.start(["run", play, "-i", live.inventoryPath, "--json", "--lease", "2s"], output: log, environment: ana)
        let switching = await eventually(timeout: .seconds(60)) { self.read(log).contains("\"stepName\":\"switch\"") }
        try #require(switching, "\(read(log).suffix(1500))")
        let id = try #require(GoliveBinary.runID(in: read(log)))
        first.signal(SIGSTOP)
        defer { first.signal(SIGCONT) }
        let early = try elsewhere(["resume", id, "--rollback"], environment: bo)
        #expect(early.status == 3, "a live lease was taken over: \(early.output.suffix(1000))")
        // The lease runs out (2 s): the other machine waits for it and takes over.
        let taken = try elsewhere(["resume", id, "--rollback", "--lock-wait", "30s"], environment: bo)
        #expect(taken.status == 0, "\(taken.output.suffix(1500))")
        for host in live.hosts { #expect(live.current(host.name) == "1.0.0", "\(host.name) is not rolled back") }
        let before = try Dictionary(uniqueKeysWithValues: live.hosts.map { ($0.name, try treeListing($0.appDirectory)) })
        first.signal(SIGCONT)
        #expect(first.wait() == 4, "the fenced controller exits 4: \(read(log).suffix(800))")
        #expect(read(log).contains("lost the run"), "\(read(log).suffix(800))")
        // Woken, it changed nothing: every host as the takeover left it.
        for host in live.hosts {
            #expect(try treeListing(host.appDirectory) == before[host.name], "\(host.name) was changed by the fenced controller")
        }
        let sequence = try golive.timelineEvents(id, store: url, environment: bo).compactMap { $0["sequence"] as? Int }
        #expect(sequence == Array(1...max(1, sequence.count)), "gaps in \(sequence)")
        let record = try golive.run(["runs", "--json"], environment: bo).output
        #expect(record.contains("\"status\":\"rolled-back\""), "\(record)")
    }

    /// A controller paused after connecting, before it took the servers' locks, and taken over and
    /// recovered from another machine meanwhile: woken, it must not take the servers (its lease's
    /// last word said it held the run) nor leave their locks behind — through either store.
    @Test(.enabled(if: geteuid() == 0, "another host name needs a UTS namespace (root)"), arguments: ["postgres", "sqlite"])
    func aControllerPausedBeforeTakingTheServersTakesNoneOnWaking(store kind: String) async throws {
        let store = kind == "postgres" ? url : "sqlite:" + live.directory + "/team-\(kind).db"
        let ana = try machine("ana", store: store)
        let bo = try machine("bo", store: store)
        let play = try slowPlay(seconds: 0, name: "late-\(kind).yml")
        // Where the servers' locks are taken: the events before the first one of them.
        let probe = try golive.run(["run", play, "-i", live.inventoryPath, "--json"], environment: ana)
        try #require(probe.status == 0, "\(probe.output.suffix(1500))")
        let probeID = try #require(GoliveBinary.runID(in: probe.output))
        let events = try golive.timelineEvents(probeID, store: store, environment: ana)
        let firstHostLock = try #require(events.firstIndex { $0["kind"] as? String == "lockTaken" && $0["host"] != nil })
        let before = try Dictionary(uniqueKeysWithValues: live.hosts.map { ($0.name, try treeListing($0.appDirectory)) })

        let log = live.directory + "/late-\(kind).log"
        let first = try golive.start(
            ["run", play, "-i", live.inventoryPath, "--json", "--lease", "2s"], output: log,
            environment: ana.merging(["GOLIVE_FAULT_STOP_AFTER_EVENTS": String(firstHostLock)]) { $1 })
        defer { first.signal(SIGCONT) }
        let stopped = await eventually(timeout: .seconds(60)) {
            ((try? String(contentsOfFile: "/proc/\(first.pid)/stat", encoding: .utf8)) ?? "").contains(") T ")
        }
        try #require(stopped, "the controller never reached its pause: \(read(log).suffix(1500))")
        let id = try #require(GoliveBinary.runID(in: read(log)))
        let hostLocks = read(log).split(separator: "\n").filter { $0.contains("\"lockTaken\"") && $0.contains("\"host\"") }
        #expect(hostLocks.isEmpty, "paused after taking servers' locks: \(hostLocks)")
        let taken = try elsewhere(["resume", id, "--rollback", "--lock-wait", "30s"], environment: bo)
        #expect(taken.status == 0, "\(taken.output.suffix(1500))")
        for host in live.hosts { #expect(!FileManager.default.fileExists(atPath: host.lockDirectory), "\(host.name) left locked by the recovery") }
        first.signal(SIGCONT)
        #expect(first.wait() == 4, "the fenced controller exits 4: \(read(log).suffix(1500))")
        #expect(read(log).contains("lost the run"), "\(read(log).suffix(800))")
        for host in live.hosts {
            #expect(!FileManager.default.fileExists(atPath: host.lockDirectory), "\(host.name) left locked by the fenced controller")
            #expect(try treeListing(host.appDirectory) == before[host.name], "\(host.name) was changed by the fenced controller")
        }
        // Nothing stands in the way of the next run.
        let next = try golive.run(["run", play, "-i", live.inventoryPath], environment: bo)
        #expect(next.status == 0, "\(next.output.suffix(1500))")
    }
}
