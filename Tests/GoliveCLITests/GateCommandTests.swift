import Foundation
import GoliveTestSupport
import Sandbox
import System
import Testing

/// Gates answered by their owner from another terminal, against real sshd hosts and the real
/// binary: a `--json` run (no terminal) waits at its gate, `golive gates` lists it, and a second
/// process answers it with `golive answer` — on a SQLite store (the OS user, or an unverified
/// `--as` claim) and on the team store (the database login, `--as` refused); a non-approver's
/// answer is refused and recorded, two answers racing have one winner, a timeout is a no and
/// the hosts are rolled back.
@Suite(.serialized) struct GateCommandTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws {
        live = try LiveHosts(count: 2)
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func play(_ gate: String, name: String) throws -> String {
        try live.write(
            """
            name: gated release
            hosts: web
            deploy:
              - name: previous
                shell: basename "$(readlink {{ app_dir }}/current)"
                register: previous
              - name: switch
                shell: mkdir -p {{ app_dir }}/releases/2.0.0 && ln -sfn releases/2.0.0 {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
                rollback: ln -sfn releases/{{ previous.stdout }} {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current && rm -rf {{ app_dir }}/releases/2.0.0
              - gate: "Smoke tests green?"
                owner: on-call DBA
            \(gate)
              - name: after
                shell: "true"
            """, name: name)
    }

    /// Starts the run in the background and waits until it waits at its gate; returns it and its id.
    func startAtGate(_ play: String, store: String, environment: [String: String], log: String) async throws -> (ChildProcess, String) {
        let run = try golive.start(["run", play, "-i", live.inventoryPath, "--json", "--store", store], output: log, environment: environment)
        let asked = await eventually(timeout: .seconds(60)) { self.read(log).contains("\"gateAsked\"") }
        try #require(asked, "\(read(log).suffix(1500))")
        return (run, try #require(GoliveBinary.runID(in: read(log))))
    }

    func decision(_ events: [[String: Any]]) -> [String: Any]? {
        events.first { $0["kind"] as? String == "gateAnswered" && $0["status"] as? String != "refused" }
    }

    @Test func aSecondTerminalAnswersAGateOnALocalStoreAndAClaimIsMarkedUnverified() async throws {
        let store = "sqlite:" + live.directory + "/gates.sqlite"
        let environment = ["HOME": live.directory]
        let play = try play("    approvers: [dba]", name: "local.yml")
        let (run, id) = try await startAtGate(play, store: store, environment: environment, log: live.directory + "/local.log")
        let listed = try golive.run(["gates", "--store", store, "--json"], environment: environment)
        #expect(listed.status == 0 && listed.output.contains(id) && listed.output.contains("\"approvers\":[\"dba\"]"), "\(listed.output)")
        #expect(listed.output.contains("on-call DBA") && listed.output.contains("Smoke tests green?"))
        let text = try golive.run(["gates", "--store", store], environment: environment).output
        #expect(text.contains("golive answer \(id) yes|no"), "\(text)")
        // On-call's screen shows it at the top, with its owner and how to answer it.
        let watched = try golive.run(["watch", id, "--once", "--store", store], environment: environment).output
        #expect(watched.contains("GATE WAITING: Smoke tests green?") && watched.contains("owner on-call DBA") && watched.contains("approvers dba"), "\(watched)")
        #expect(watched.contains("golive answer \(id) yes|no"))
        // Somebody not named: refused, recorded, the gate still waits.
        let intruder = try golive.run(["answer", id, "yes", "--as", "mallory", "--store", store], environment: environment)
        #expect(intruder.status == 3 && intruder.output.contains("not an approver"), "\(intruder.output)")
        #expect(try golive.run(["gates", "--store", store, "--json"], environment: environment).output.contains(id))
        // The approver, by a name golive cannot verify on a shared machine.
        let started = Date()
        let answered = try golive.run(["answer", id, "yes", "--as", "dba", "--reason", "smoke tests green", "--store", store], environment: environment)
        #expect(answered.status == 0 && answered.output.contains("answered yes"), "\(answered.output)")
        #expect(run.wait() == 0, "\(read(live.directory + "/local.log").suffix(1500))")
        for host in live.hosts { #expect(live.current(host.name) == "2.0.0") }
        let events = try golive.timelineEvents(id, store: store, environment: environment)
        let refused = try #require(events.first { $0["status"] as? String == "refused" })
        #expect((refused["message"] as? String)?.contains("mallory (claimed, not verified)") == true, "\(refused)")
        let taken = try #require(decision(events))
        let details = try #require(taken["details"] as? [String: String])
        #expect(taken["status"] as? String == "yes" && details["answered_by"] == "dba" && details["verified"] == "no", "\(taken)")
        #expect(details["reason"] == "smoke tests green" && details["machine"] == ProcessInfo.processInfo.hostName)
        // Seen by the controller within a second of being left in the store.
        let left = try #require(details["answered_at"].flatMap(Timestamp.parse))
        let recorded = try #require((taken["time"] as? String).flatMap(Timestamp.parse))
        print("gate answer taken \(Int(recorded.timeIntervalSince(left) * 1000)) ms after it was left")
        #expect(recorded.timeIntervalSince(left) < 1.0 && left >= started.addingTimeInterval(-1))
        let report = try golive.run(["report", id, "--store", store], environment: environment).output
        #expect(report.contains("dba (claimed, not verified)") && report.contains("mallory"), "\(report)")
        // Nothing waits any more.
        #expect(try golive.run(["answer", id, "no", "--store", store], environment: environment).status == 3)
    }

    @Test func twoAnswersRacingHaveOneWinnerAndTheOtherIsTold() async throws {
        let store = "sqlite:" + live.directory + "/race.sqlite"
        let environment = ["HOME": live.directory]
        let before = try Dictionary(uniqueKeysWithValues: live.hosts.map { ($0.name, try treeListing($0.appDirectory)) })
        let play = try play("", name: "race.yml")
        let (run, id) = try await startAtGate(play, store: store, environment: environment, log: live.directory + "/race.log")
        let yesLog = live.directory + "/yes.log"
        let noLog = live.directory + "/no.log"
        let yes = try golive.start(["answer", id, "yes", "--as", "bo", "--store", store], output: yesLog, environment: environment)
        let no = try golive.start(["answer", id, "no", "--as", "ana", "--store", store], output: noLog, environment: environment)
        let statuses = [yes.wait(), no.wait()]
        #expect(statuses.sorted() == [0, 3], "yes: \(read(yesLog)) no: \(read(noLog))")
        let loser = statuses[0] == 3 ? read(yesLog) : read(noLog)
        #expect(loser.contains("decided before your answer"), "\(loser)")
        let winnerSaidYes = statuses[0] == 0
        let status = run.wait()
        #expect(status == (winnerSaidYes ? 0 : 1), "\(read(live.directory + "/race.log").suffix(1500))")
        let events = try golive.timelineEvents(id, store: store, environment: environment)
        #expect(events.filter { $0["kind"] as? String == "gateAnswered" }.count == 1)
        if !winnerSaidYes {
            for host in live.hosts { #expect(try treeListing(host.appDirectory) == before[host.name], "\(host.name) not rolled back") }
        }
    }

    @Test func anUnansweredGateTimesOutAsNoAndTheHostsAreRolledBack() async throws {
        let store = "sqlite:" + live.directory + "/timeout.sqlite"
        let before = try Dictionary(uniqueKeysWithValues: live.hosts.map { ($0.name, try treeListing($0.appDirectory)) })
        // `--yes` does not answer a gate that names approvers.
        let play = try play("    approvers: [dba]\n    timeout: 2s", name: "timeout.yml")
        let ran = try golive.run(["run", play, "-i", live.inventoryPath, "--json", "--yes", "--store", store], environment: ["HOME": live.directory])
        #expect(ran.status == 1, "\(ran.output.suffix(1500))")
        let id = try #require(GoliveBinary.runID(in: ran.output))
        let taken = try #require(decision(try golive.timelineEvents(id, store: store)))
        #expect(taken["status"] as? String == "no" && (taken["message"] as? String)?.contains("timeout (2s)") == true, "\(taken)")
        for host in live.hosts { #expect(try treeListing(host.appDirectory) == before[host.name], "\(host.name) not rolled back") }
    }

    @Test func onTheTeamStoreTheDatabaseLoginAnswersAndAClaimIsRefused() async throws {
        let server = try PostgresServer.shared()
        let database = try server.createDatabase()
        let url = server.url(database: database)
        let owner = server.passwordEnvironment.merging(["HOME": live.directory]) { $1 }
        #expect(try golive.run(["runs", "--store", url], environment: owner).status == 0)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try server.psql(try String(contentsOf: root.appendingPathComponent("docs/sql/roles.sql"), encoding: .utf8), database: database)
        func login(_ role: String, _ name: String) throws -> [String: String] {
            let password = "pw-" + UUID().uuidString
            try server.psql("CREATE ROLE \(name) LOGIN PASSWORD '\(password)' IN ROLE \(role)", database: database)
            return ["HOME": live.directory, "GOLIVE_STORE": server.url(database: database, user: name), "GOLIVE_STORE_PASSWORD": password]
        }
        let suffix = UInt32.random(in: 0...UInt32.max)
        let dba = "dba_\(suffix)"
        let approver = try login("golive_approver", dba)
        let reader = try login("golive_reader", "oncall_\(suffix)")
        let play = try play("    approvers: [\(dba)]", name: "team.yml")
        let log = live.directory + "/team.log"
        let (run, id) = try await startAtGate(play, store: url, environment: owner, log: log)
        // The reader sees the gate and may not answer it.
        #expect(try golive.run(["gates"], environment: reader).output.contains(id))
        let refusedReader = try golive.run(["answer", id, "yes"], environment: reader)
        #expect(refusedReader.status == 3 && refusedReader.output.contains("may not answer gates"), "\(refusedReader.output)")
        // A name is not an identity on the team store.
        let claim = try golive.run(["answer", id, "yes", "--as", dba, "--store", url], environment: owner)
        #expect(claim.status == 2 && claim.output.contains("--as is for a local store only"), "\(claim.output)")
        // The operator's own login is not an approver of this gate.
        let operatorAnswer = try golive.run(["answer", id, "yes", "--store", url], environment: owner)
        #expect(operatorAnswer.status == 3 && operatorAnswer.output.contains("not an approver"), "\(operatorAnswer.output)")
        // An approver writing somebody else's name into the table is recorded as who they are.
        let forged = try golive.run(["answer", id, "no", "--reason", "migration failed"], environment: approver)
        #expect(forged.status == 0 && forged.output.contains("answered no"), "\(forged.output)")
        #expect(run.wait() == 1, "\(read(log).suffix(1500))")
        let events = try golive.timelineEvents(id, store: url, environment: owner)
        let taken = try #require(decision(events))
        let details = try #require(taken["details"] as? [String: String])
        #expect(details["answered_by"] == dba && details["verified"] == "yes" && details["reason"] == "migration failed", "\(taken)")
        for host in live.hosts { #expect(live.current(host.name) == "1.0.0") }
        // The identity is the server's, whatever a client writes.
        try server.psql(
            "INSERT INTO golive.gate_answers (run_id, gate_seq, answer, identity, verified, machine, reason, answered) "
                + "VALUES ('\(id)', 1, 'yes', 'somebody_else', 0, 'x', 'x', 'x')", database: database)
        let kept = try server.psql("SELECT identity, verified FROM golive.gate_answers WHERE reason = 'x'", database: database)
        #expect(!kept.contains("somebody_else") && kept.contains("1"), "\(kept)")
    }

    func tmux(_ arguments: [String]) throws -> String { try HostTools.output("/usr/bin/tmux", arguments) }

    /// The operator's own terminal still answers; and when an answer from elsewhere comes first, the
    /// prompt gives way (the run goes on without waiting for the keyboard) and says who answered.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/tmux"), "needs tmux"))
    func theRunsTerminalAnswersAndGivesWayToAnAnswerFromElsewhere() async throws {
        let store = "sqlite:" + live.directory + "/tty.sqlite"
        let play = try play("", name: "tty.yml")
        let session = "golive-gate-\(UInt32.random(in: 0...UInt32.max))"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", "/bin/bash --norc --noprofile"])
        defer { _ = try? tmux(["kill-session", "-t", session]) }
        @Sendable func screen() -> String { (try? HostTools.output("/usr/bin/tmux", ["capture-pane", "-p", "-t", session, "-S", "-200"])) ?? "" }
        func start() throws {
            _ = try tmux([
                "send-keys", "-t", session,
                "HOME=\(live.directory) \(golive.path) run \(play) -i \(live.inventoryPath) --store \(store); echo RUN-EXIT=$?", "Enter",
            ])
        }
        try start()
        #expect(await eventually(timeout: .seconds(60)) { screen().contains("Go on? [yes/no]") }, "\(screen())")
        _ = try tmux(["send-keys", "-t", session, "yes", "Enter"])
        #expect(await eventually(timeout: .seconds(60)) { screen().contains("RUN-EXIT=0") }, "\(screen())")
        for host in live.hosts { #expect(live.current(host.name) == "2.0.0") }
        // Again (back to 1.0.0 first): this time the answer comes from another terminal.
        for host in live.hosts {
            _ = try HostTools.sh("ln -sfn releases/1.0.0 \(host.appDirectory)/current && rm -rf \(host.appDirectory)/releases/2.0.0")
        }
        _ = try tmux(["send-keys", "-t", session, "clear", "Enter"])
        try start()
        #expect(await eventually(timeout: .seconds(60)) { screen().contains("Go on? [yes/no]") }, "\(screen())")
        let id = try #require(try GoliveBinary.runID(in: golive.run(["runs", "--store", store, "--json", "--limit", "1"]).output.replacingOccurrences(of: "\"id\"", with: "\"runID\"")))
        let remote = try golive.run(["answer", id, "no", "--reason", "smoke tests red", "--store", store], environment: ["HOME": live.directory])
        #expect(remote.status == 0, "\(remote.output)")
        #expect(await eventually(timeout: .seconds(60)) { screen().contains("RUN-EXIT=1") }, "\(screen())")
        #expect(screen().contains("smoke tests red"), "\(screen())")
        for host in live.hosts { #expect(live.current(host.name) == "1.0.0") }
    }
}
