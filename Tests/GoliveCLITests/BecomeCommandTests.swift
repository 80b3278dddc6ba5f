import Foundation
import GoliveTestSupport
import Sandbox
import System
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `become` against real sshd hosts that log in like production's (a non-root user, root logins
/// refused, root's files) and Debian's real sudo: the hosts' files, owners and process lists are
/// what the tests look at, not golive's words. The sandbox's login users are this machine's users,
/// so these tests need root.
@Suite(.serialized, .enabled(if: geteuid() == 0, "the sandbox's login users can only be made as root"))
struct BecomeCommandTests {
    let golive = GoliveBinary()

    /// The owner, group and octal mode of a path (`golive-app golive-app 640`).
    static func stat(_ path: String) -> String {
        ((try? HostTools.sh("stat -c '%U %G %a' \(ShellQuote.quote(path))")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Pids whose command line is exactly `argv` (this machine's processes: the hosts share it).
    static func processes(_ argv: [String]) -> [Int32] {
        let wanted = Data((argv.joined(separator: "\u{0}") + "\u{0}").utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") == wanted && !ChildProcess.isZombie(pid)
        }
    }

    /// The run id a run's text output names.
    static func runID(_ output: String) -> String? {
        guard let range = output.range(of: #"\d{8}-\d{6}-[0-9a-f]{4}"#, options: .regularExpression) else { return nil }
        return String(output[range])
    }

    /// Every process's command line and environment holding `needle`.
    static func processesHolding(_ needle: String) -> [String] {
        let bytes = Data(needle.utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).flatMap { pid in
            ["cmdline", "environ"].compactMap { file -> String? in
                guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/\(file)"), data.range(of: bytes) != nil else { return nil }
                return "\(pid)/\(file)"
            }
        }
    }

    /// Both SSH implementations: the escalation's dialogue is the same over a libssh2 channel and an ssh client's pipes.
    static let transports = ["libssh2", "openssh"]

    @Test(arguments: transports) func nopasswdSudoChangesRootsFilesAsTheStepsSayAndRecordsWhoBecameWhom(_ transport: String) async throws {
        let live = try LiveHosts(count: 2, login: .deploy, transport: transport)
        defer { live.stop() }
        let store = live.directory + "/store.sqlite"
        // A password is given though sudo never asks for one here: it must never be sent (it would
        // be the command's stdin), nor shown anywhere.
        let password = "never-sent-" + UUID().uuidString.prefix(8)
        try (String(contentsOfFile: live.inventoryPath, encoding: .utf8)
            .replacingOccurrences(of: "  connect_timeout: 10s\n", with: "  connect_timeout: 10s\n  become_password: { secret: pw }\n")
            + "secrets:\n  pw: { env: TEST_BECOME_PW }\n").write(toFile: live.inventoryPath, atomically: true, encoding: .utf8)
        for host in live.hosts {
            _ = try live.shell(
                "mkdir -p \(host.appDirectory)/shared && chown golive-app: \(host.appDirectory)/shared"
                    + " && echo old > \(host.appDirectory)/config/kept.ini && chown golive-app: \(host.appDirectory)/config/kept.ini && chmod 640 \(host.appDirectory)/config/kept.ini")
        }
        try "x = {{ host.name }}\n".write(toFile: live.directory + "/app.ini", atomically: true, encoding: .utf8)
        let play = try live.write(
            """
            name: as whom
            hosts: web
            become: true
            deploy:
              - name: who logs in
                shell: id -un
                become: false
                register: login
                rollback: none
              - name: the script's stdin
                shell: cat
                register: input
                rollback: none
              - name: root's file
                shell: echo changed > {{ app_dir }}/config/app.conf && id -un
                register: root
                rollback: none
              - name: the app's file
                shell: id -un > {{ app_dir }}/shared/whoami
                become_user: golive-app
                rollback: none
              - name: a config owned by the app
                template: { src: app.ini, dest: "{{ app_dir }}/config/app.ini", owner: golive-app, group: golive-app, mode: "0640" }
                rollback: none
              - name: overwrite the app's file, no owner given
                template: { src: app.ini, dest: "{{ app_dir }}/config/kept.ini" }
                rollback: none
              - name: say what was seen
                shell: echo "{{ login.stdout }} [{{ input.stdout }}] {{ root.stdout }}" > {{ app_dir }}/config/seen
                rollback: none
            """)
        let (status, output) = try golive.run(
            ["run", play, "-i", live.inventoryPath, "--store", store, "--yes"], environment: ["TEST_BECOME_PW": password])
        #expect(status == 0, "\(output.suffix(2000))")
        for host in live.hosts {
            let config = host.appDirectory + "/config"
            #expect(try String(contentsOfFile: config + "/seen", encoding: .utf8) == "golive-deploy [] root\n")
            #expect(Self.stat(config + "/app.conf") == "root root 644")
            #expect(Self.stat(config + "/app.ini") == "golive-app golive-app 640")
            // Overwritten without an owner or a mode: it keeps the ones it had.
            #expect(Self.stat(config + "/kept.ini") == "golive-app golive-app 640")
            #expect(try String(contentsOfFile: config + "/app.ini", encoding: .utf8) == "x = \(host.name)\n")
            #expect(Self.stat(host.appDirectory + "/shared/whoami").hasPrefix("golive-app "))
            #expect(try String(contentsOfFile: host.appDirectory + "/shared/whoami", encoding: .utf8) == "golive-app\n")
            // Nothing temporary left beside the destination.
            #expect(try FileManager.default.contentsOfDirectory(atPath: config).allSatisfy { !$0.hasPrefix(".golive") })
        }
        // The record names the login and whom it became; the check before the change is on it.
        let id = try #require(Self.runID(output))
        let timeline = try golive.run(["timeline", id, "--store", store, "--format", "json"]).output
        #expect(timeline.contains("golive-deploy → root via sudo"))
        #expect(timeline.contains("golive-deploy → golive-app via sudo"))
        #expect(timeline.contains("\"escalationChecked\""))
        // The password: nowhere.
        for bytes in [try Data(contentsOf: URL(fileURLWithPath: store)), Data(timeline.utf8), Data(output.utf8)] {
            #expect(bytes.range(of: Data(password.utf8)) == nil)
        }
    }

    @Test func withoutBecomeARootOwnedDestinationSaysWhichPathAndWhichUser() throws {
        let live = try LiveHosts(count: 1, login: .deploy)
        defer { live.stop() }
        try "x\n".write(toFile: live.directory + "/x.conf", atomically: true, encoding: .utf8)
        let play = try live.write(
            """
            name: no become
            hosts: web1
            deploy:
              - template: { src: x.conf, dest: "{{ app_dir }}/config/x.conf" }
                rollback: none
            """)
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", live.directory + "/s.sqlite", "--yes"])
        #expect(status == 1, "\(output.suffix(1500))")
        #expect(output.contains("/config/x.conf") || output.contains("/config"), "\(output.suffix(1500))")
        #expect(output.contains("golive-deploy"), "\(output.suffix(1500))")
        #expect(!output.contains("unreachable"), "\(output.suffix(1500))")
    }

    @Test func anUploadOntoADirectoryFailsAndLeavesNothingBehind() throws {
        let live = try LiveHosts(count: 1, login: .deploy)
        defer { live.stop() }
        try "x\n".write(toFile: live.directory + "/x.conf", atomically: true, encoding: .utf8)
        let play = try live.write(
            """
            name: onto a directory
            hosts: web1
            become: true
            deploy:
              - upload: { src: x.conf, dest: "{{ app_dir }}/config" }
                rollback: none
            """)
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", live.directory + "/s.sqlite", "--yes"])
        #expect(status == 1 && output.contains("is a directory"), "\(output.suffix(1500))")
        let config = try #require(live.host("web1")).appDirectory + "/config"
        #expect(try FileManager.default.contentsOfDirectory(atPath: config) == ["app.conf"])
    }

    @Test func aPasswordThatChangesMidRunIsRefusedOnceAndNeverAskedAgain() async throws {
        let live = try LiveHosts(count: 1, login: .password)
        defer { live.stop() }
        let password = try String(contentsOfFile: live.sandbox.sudoPasswordFile, encoding: .utf8)
        defer { _ = try? HostTools.sh("printf '%s:%s\\n' golive-sudo \(ShellQuote.quote(password)) | chpasswd") }
        let store = live.directory + "/store.sqlite"
        let play = try live.write(
            """
            name: rotated
            hosts: web1
            become: true
            deploy:
              - name: first
                shell: touch {{ app_dir }}/config/first; sleep 2
                rollback: rm -f {{ app_dir }}/config/first
              - name: second
                shell: touch {{ app_dir }}/config/second
                rollback: rm -f {{ app_dir }}/config/second
            """)
        let log = live.directory + "/run.log"
        let process = try golive.start(
            ["run", play, "-i", live.inventoryPath, "--store", store, "--yes"], output: log, environment: [Sandbox.sudoPasswordVariable: password])
        let host = try #require(live.host("web1"))
        #expect(await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: host.appDirectory + "/config/first") })
        _ = try HostTools.sh("printf '%s\\n' 'golive-sudo:rotated-meanwhile-1' | chpasswd")
        let status = process.wait()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // The undo of the first step needs the refused password: a person must act.
        #expect(status == 4, "\(output.suffix(2000))")
        let id = try #require(Self.runID(output))
        let events = try golive.timelineEvents(id, store: store)
        let attempts = events.filter { (($0["stderr"] as? String) ?? "").contains("incorrect password attempt") }
        #expect(attempts.count == 1, "sudo was asked more than once: \(attempts)")
        // The refused step never ran: nothing of it is undone, and nothing tries to.
        #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/config/second"))
        #expect(!events.contains { $0["kind"] as? String == "rollbackStepStarted" && ($0["stepName"] as? String) == "second" })
        #expect(output.contains("not asked again"), "\(output.suffix(2000))")
    }

    @Test func aRecoveryThatCannotEscalateRefusesAndALaterOneStopsRootsCommand() async throws {
        let live = try LiveHosts(count: 1, login: .password)
        defer { live.stop() }
        let password = try String(contentsOfFile: live.sandbox.sudoPasswordFile, encoding: .utf8)
        let store = live.directory + "/store.sqlite"
        let play = try live.write(
            """
            name: lost as root
            hosts: web1
            become: true
            deploy:
              - shell: sleep 294
                rollback: none
            """)
        let log = live.directory + "/run.log"
        let process = try golive.start(
            ["run", play, "-i", live.inventoryPath, "--store", store, "--yes"], output: log, environment: [Sandbox.sudoPasswordVariable: password])
        #expect(await eventually(timeout: .seconds(30)) { !Self.processes(["sleep", "294"]).isEmpty })
        let id = try #require(Self.runID((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        process.signal(SIGKILL)
        #expect(process.wait() == 137)
        let refused = try golive.run(["resume", id, "--rollback", "--store", store], environment: [Sandbox.sudoPasswordVariable: "a-wrong-password"])
        #expect(refused.status == 3 && refused.output.contains("nothing was stopped or undone"), "\(refused.output.suffix(1500))")
        #expect(!Self.processes(["sleep", "294"]).isEmpty)
        // The run is still the lost one it was: its host lock stays, and a new run is refused.
        #expect(FileManager.default.fileExists(atPath: try #require(live.host("web1")).lockDirectory))
        let other = try live.write("name: other\nhosts: web1\ndeploy:\n  - shell: \"true\"\n    rollback: none\n", name: "other.yml")
        let blocked = try golive.run(["run", other, "-i", live.inventoryPath, "--store", store, "--yes"], environment: [Sandbox.sudoPasswordVariable: password])
        #expect(blocked.status == 3, "\(blocked.output.suffix(1500))")
        let recovered = try golive.run(["resume", id, "--rollback", "--store", store], environment: [Sandbox.sudoPasswordVariable: password])
        #expect(recovered.status == 0, "\(recovered.output.suffix(1500))")
        #expect(Self.processes(["sleep", "294"]).isEmpty, "the recovery left root's sleep running")
    }

    @Test func aPasswordWithALineBreakIsRefusedBeforeAnythingRuns() throws {
        let live = try LiveHosts(count: 1, login: .password)
        defer { live.stop() }
        let password = try String(contentsOfFile: live.sandbox.sudoPasswordFile, encoding: .utf8)
        let play = try live.write(
            """
            name: line break
            hosts: web1
            become: true
            deploy:
              - shell: "true"
                rollback: none
            """)
        let payload = password + "\n12\ntouch /tmp/x"
        let check = try golive.run(["check", play, "-i", live.inventoryPath, "--store", live.directory + "/s.sqlite"], environment: [Sandbox.sudoPasswordVariable: payload])
        #expect(check.status == 2 && check.output.contains("line break"), "\(check.output.suffix(1500))")
        #expect(!check.output.contains(password))
    }

    @Test(arguments: transports) func aPasswordGoesOnStdinAfterThePromptAndIsSeenNowhere(_ transport: String) async throws {
        let live = try LiveHosts(count: 1, login: .password, transport: transport)
        let password = try String(contentsOfFile: live.sandbox.sudoPasswordFile, encoding: .utf8)
        defer { live.stop() }
        let store = live.directory + "/store.sqlite"
        let play = try live.write(
            """
            name: with a password
            hosts: web1
            become: true
            deploy:
              - name: long enough to look
                shell: sleep 2.5; id -un > {{ app_dir }}/config/who
                rollback: rm -f {{ app_dir }}/config/who
              - name: fail, to roll back as root
                shell: "false"
                rollback: none
            """)
        let environment = [Sandbox.sudoPasswordVariable: String(password)]
        let log = live.directory + "/run.log"
        let process = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--yes"], output: log, environment: environment)
        let host = try #require(live.host("web1"))
        // While the escalated step runs, no process on the host (or here) carries the password.
        let running = await eventually(timeout: .seconds(30)) { !Self.processes(["sleep", "2.5"]).isEmpty }
        #expect(running)
        #expect(Self.processesHolding(String(password)).filter { !$0.hasPrefix("\(getpid())/") && !$0.hasPrefix("\(process.pid)/") }.isEmpty)
        let status = process.wait()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 1, "\(output.suffix(2000))")
        // The step ran as root (sudo took the password); its rollback ran as root too (only root may remove it).
        #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/config/who"), "\(output.suffix(1500))")
        let id = try #require(Self.runID(output))
        #expect(output.contains("golive-sudo → root via sudo: sudo ok"), "\(output.suffix(1500))")
        // Every record: the store's bytes, the timeline in each format, the report, watch.
        var records: [Data] = [Data(output.utf8)]
        for file in [store, store + "-wal"] where FileManager.default.fileExists(atPath: file) {
            records.append(try Data(contentsOf: URL(fileURLWithPath: file)))
        }
        for format in ["text", "json", "html"] {
            let (code, text) = try golive.run(["timeline", id, "--store", store, "--format", format])
            #expect(code == 0)
            records.append(Data(text.utf8))
        }
        records.append(Data(try golive.run(["report", id, "--store", store, "--format", "md"]).output.utf8))
        records.append(Data(try golive.run(["watch", id, "--store", store, "--once"]).output.utf8))
        for (index, bytes) in records.enumerated() {
            #expect(bytes.range(of: Data(password.utf8)) == nil, "record \(index) holds the password")
        }
    }

    @Test func whoCannotEscalateIsRefusedBeforeAnyChangeWithWhatToDo() throws {
        let live = try LiveHosts(count: 1, login: .password)
        let password = try String(contentsOfFile: live.sandbox.sudoPasswordFile, encoding: .utf8)
        defer { live.stop() }
        let host = try #require(live.host("web1"))
        let play = try live.write(
            """
            name: refused
            hosts: web1
            become: true
            deploy:
              - shell: touch {{ app_dir }}/config/changed
                rollback: none
            """)
        let original = try String(contentsOfFile: live.inventoryPath, encoding: .utf8)
        func inventory(user: String, password: Bool) throws {
            var text = original.replacingOccurrences(of: "user: \(SandboxUsers.password)", with: "user: \(user)")
            if !password { text = text.replacingOccurrences(of: "  become_password: { secret: sudo_password }\n", with: "") }
            try text.write(toFile: live.inventoryPath, atomically: true, encoding: .utf8)
        }
        let cases: [(String, Bool, String, String, [String: String])] = [
            (SandboxUsers.password, true, "sudo refused the password", "refused the password for golive-sudo", [Sandbox.sudoPasswordVariable: "wrong-password"]),
            (SandboxUsers.password, false, "sudo needs a password", "needs a password for golive-sudo", [Sandbox.sudoPasswordVariable: String(password)]),
            (SandboxUsers.noSudo, true, "not in sudoers", "golive-nosudo is not in the sudoers file", [Sandbox.sudoPasswordVariable: String(password)]),
            (SandboxUsers.tty, false, "sudo requires a tty", "Defaults:golive-tty !requiretty", [Sandbox.sudoPasswordVariable: String(password)]),
        ]
        for (user, withPassword, status, message, environment) in cases {
            try inventory(user: user, password: withPassword)
            let ping = try golive.run(["ping", "-i", live.inventoryPath, "--become"], environment: environment)
            #expect(ping.status == 3, "\(user): \(ping.output)")
            #expect(ping.output.contains(status) && ping.output.contains(message), "\(user): \(ping.output)")
            let begin = ContinuousClock.now
            let check = try golive.run(["check", play, "-i", live.inventoryPath, "--store", live.directory + "/s.sqlite"], environment: environment)
            #expect(check.status == 3 && check.output.contains(message), "\(user): \(check.output.suffix(1500))")
            let run = try golive.run(["run", play, "-i", live.inventoryPath, "--store", live.directory + "/s.sqlite", "--yes"], environment: environment)
            #expect(run.status == 3 && run.output.contains(message), "\(user): \(run.output.suffix(1500))")
            // Fast (no prompt left to time out), nothing changed, nothing left locked.
            #expect(begin.duration(to: .now) < .seconds(15))
            #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/config/changed"))
            #expect(!FileManager.default.fileExists(atPath: host.lockDirectory))
            if status == "sudo refused the password" {
                // One attempt, as sudo counts them: never retried into a lockout.
                #expect(ping.output.contains("1 incorrect password attempt"), "\(ping.output)")
            }
        }
    }

    @Test(arguments: transports) func aTimeoutACancelAndARecoveryEachStopWhatRunsAsRoot(_ transport: String) async throws {
        let live = try LiveHosts(count: 1, login: .deploy, transport: transport)
        defer { live.stop() }
        let store = live.directory + "/store.sqlite"
        func play(_ seconds: String, timeout: String) throws -> String {
            try live.write(
                """
                name: long as root
                hosts: web1
                become: true
                deploy:
                  - name: long, deaf to TERM
                    shell: "trap '' TERM INT HUP; while :; do sleep \(seconds); done; touch {{ app_dir }}/config/finished"
                    timeout: \(timeout)
                    rollback: none
                """, name: "long-\(seconds).yml")
        }
        let host = try #require(live.host("web1"))
        // A timeout: the step fails in its time, and root's sleep is gone.
        // Each step ignores TERM: only KILL, sent as root, ends it.
        let timed = try golive.run(["run", try play("291", timeout: "2s"), "-i", live.inventoryPath, "--store", store, "--yes"])
        #expect(timed.status == 1 && timed.output.contains("timed out after 2s"), "\(timed.output.suffix(1500))")
        #expect(Self.processes(["sleep", "291"]).isEmpty, "root's sleep outlived the timeout")
        let timedID = try #require(Self.runID(timed.output))
        let timedEvents = try golive.timelineEvents(timedID, store: store)
        #expect(timedEvents.contains { $0["kind"] as? String == "processStopped" && ($0["message"] as? String)?.contains("as root via sudo") == true })

        // Ctrl-C.
        let log = live.directory + "/int.log"
        let interrupted = try golive.start(["run", try play("292", timeout: "5m"), "-i", live.inventoryPath, "--store", store, "--yes"], output: log)
        #expect(await eventually(timeout: .seconds(30)) { !Self.processes(["sleep", "292"]).isEmpty })
        interrupted.signal(SIGINT)
        #expect(interrupted.wait() == 130, "\((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(1500) ?? "")")
        #expect(Self.processes(["sleep", "292"]).isEmpty, "root's sleep outlived the interrupt")

        // A killed controller: its root sleep outlives it until a recovery stops it (through sudo).
        let killedLog = live.directory + "/kill.log"
        let killed = try golive.start(["run", try play("293", timeout: "5m"), "-i", live.inventoryPath, "--store", store, "--yes"], output: killedLog)
        #expect(await eventually(timeout: .seconds(30)) { !Self.processes(["sleep", "293"]).isEmpty })
        let id = try #require(Self.runID((try? String(contentsOfFile: killedLog, encoding: .utf8)) ?? ""))
        killed.signal(SIGKILL)
        #expect(killed.wait() == 137)
        let orphans = Self.processes(["sleep", "293"])
        #expect(!orphans.isEmpty, "the lost step's sleep runs on")
        let owner = ((try? HostTools.sh("stat -c %U /proc/\(orphans.first ?? 0)")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(owner == "root")
        let recovered = try golive.run(["resume", id, "--rollback", "--store", store])
        #expect(recovered.status == 0, "\(recovered.output.suffix(1500))")
        let events = try golive.timelineEvents(id, store: store)
        let stopped = events.filter { $0["kind"] as? String == "processStopped" && ($0["message"] as? String)?.contains("as root via sudo") == true }
        #expect(!stopped.isEmpty, "\(events.filter { $0["kind"] as? String == "processStopped" })")
        #expect(Self.processes(["sleep", "293"]).isEmpty, "the recovery left root's sleep running")
        #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/config/finished"))
        #expect(!FileManager.default.fileExists(atPath: host.lockDirectory))
    }

    @Test func archivesKeepOwnersAndModesThroughARestoreAsRoot() throws {
        let live = try LiveHosts(count: 1, login: .deploy)
        defer { live.stop() }
        let host = try #require(live.host("web1"))
        let data = host.appDirectory + "/data"
        _ = try live.shell(
            "mkdir -p \(data)/sub && echo a > \(data)/a && echo b > \(data)/sub/b && echo c > \(data)/secret"
                + " && chown -R golive-app:golive-app \(data)/sub \(data)/a && chmod 640 \(data)/a && chmod 600 \(data)/secret && chmod 750 \(data)/sub")
        let before = try treeListing(data) + (try live.shell("cd \(data) && find . -printf '%P %u %g\\n' | sort"))
        let play = try live.write(
            """
            name: restore as root
            hosts: web1
            become: true
            backup:
              - archive: { path: "{{ app_dir }}/data", to: "{{ app_dir }}/../data.tgz" }
            deploy:
              - shell: chown -R root:root {{ app_dir }}/data && chmod -R 777 {{ app_dir }}/data && echo x > {{ app_dir }}/data/a && rm {{ app_dir }}/data/secret
                rollback: backup
              - shell: "false"
                rollback: none
            """)
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", live.directory + "/s.sqlite", "--yes"])
        #expect(status == 1, "\(output.suffix(1500))")
        let after = try treeListing(data) + (try live.shell("cd \(data) && find . -printf '%P %u %g\\n' | sort"))
        #expect(after == before)
        // The backup holds the 0600 secret: only its owner may read it.
        #expect(Self.stat(host.appDirectory + "/../data.tgz") == "root root 600")
    }

    @Test func doasWithANopassRuleAndSuFromARootLoginEachBecomeSomeoneElse() throws {
        // doas: a nopass rule for the deploy user (in /etc/doas.conf, put back as it was).
        let doasConf = "/etc/doas.conf"
        let kept = FileManager.default.contents(atPath: doasConf)
        try ((kept.map { String(decoding: $0, as: UTF8.self) } ?? "") + "permit nopass \(SandboxUsers.deploy) as root\n")
            .write(toFile: doasConf, atomically: true, encoding: .utf8)
        chmod(doasConf, 0o600)
        defer {
            if let kept { _ = FileManager.default.createFile(atPath: doasConf, contents: kept) } else { unlink(doasConf) }
        }
        let deploy = try LiveHosts(count: 1, login: .deploy)
        defer { deploy.stop() }
        let doasPlay = try deploy.write(
            """
            name: doas
            hosts: web1
            become: true
            become_method: doas
            deploy:
              - shell: id -un > {{ app_dir }}/config/by-doas
                rollback: none
            """)
        let viaDoas = try golive.run(["run", doasPlay, "-i", deploy.inventoryPath, "--store", deploy.directory + "/s.sqlite", "--yes"])
        #expect(viaDoas.status == 0, "\(viaDoas.output.suffix(1500))")
        let web = try #require(deploy.host("web1"))
        #expect(try String(contentsOfFile: web.appDirectory + "/config/by-doas", encoding: .utf8) == "root\n")
        #expect(Self.stat(web.appDirectory + "/config/by-doas").hasPrefix("root root"))
        #expect(viaDoas.output.contains("golive-deploy → root via doas: doas ok"), "\(viaDoas.output.suffix(1500))")

        // su: from a root login to the application's user.
        let rooted = try LiveHosts(count: 1)
        defer { rooted.stop() }
        let app = try #require(rooted.host("web1")).appDirectory
        _ = try rooted.shell("mkdir -p \(app)/shared && chown golive-app: \(app)/shared")
        let suPlay = try rooted.write(
            """
            name: su
            hosts: web1
            become: true
            become_method: su
            become_user: golive-app
            deploy:
              - shell: id -un > {{ app_dir }}/shared/by-su
                rollback: none
            """)
        let viaSu = try golive.run(["run", suPlay, "-i", rooted.inventoryPath, "--store", rooted.directory + "/s.sqlite", "--yes"])
        #expect(viaSu.status == 0, "\(viaSu.output.suffix(1500))")
        #expect(try String(contentsOfFile: app + "/shared/by-su", encoding: .utf8) == "golive-app\n")
        #expect(Self.stat(app + "/shared/by-su").hasPrefix("golive-app golive-app"))
        // su from the deploy login would want golive-app's password: refused at validate, exit 2.
        let refused = try golive.run(["check", suPlay, "-i", deploy.inventoryPath, "--store", deploy.directory + "/s.sqlite"])
        #expect(refused.status == 2 || refused.status == 3, "\(refused.output)")
        #expect(refused.output.contains("su"), "\(refused.output)")
    }

    @Test func askBecomePassAsksOnceOnTheTerminal() throws {
        let live = try LiveHosts(count: 2, login: .password)
        let password = try String(contentsOfFile: live.sandbox.sudoPasswordFile, encoding: .utf8)
        defer { live.stop() }
        try String(contentsOfFile: live.inventoryPath, encoding: .utf8)
            .replacingOccurrences(of: "  become_password: { secret: sudo_password }\n", with: "")
            .write(toFile: live.inventoryPath, atomically: true, encoding: .utf8)
        // A terminal for the command: the answer is typed once the prompt is on it.
        let typist = """
            import os, pty, signal, sys
            signal.alarm(60)  # bounded: a prompt never answered fails the test, never hangs it
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[1], sys.argv[1:])
            out, sent = b"", False
            while True:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                out += data
                if not sent and b"become password:" in out:
                    os.write(fd, os.environ["TYPED"].encode() + b"\\n")
                    sent = True
            _, status = os.waitpid(pid, 0)
            sys.stdout.buffer.write(out)
            sys.exit(os.waitstatus_to_exitcode(status))
            """
        let script = live.directory + "/typist.py"
        try typist.write(toFile: script, atomically: true, encoding: .utf8)
        let (typed, output) = try ChildProcess.run(
            "/usr/bin/python3", [script, golive.path, "ping", "-i", live.inventoryPath, "--become", "--ask-become-pass"],
            environment: ["TYPED": String(password)])
        #expect(typed == 0, "\(output)")
        #expect(output.components(separatedBy: "become password:").count == 2, "\(output)")
        #expect(output.components(separatedBy: "sudo ok").count == 3, "\(output)")
        #expect(!output.contains(password))
        // Without a terminal it says so, exit 2.
        let (status, text) = try golive.run(["ping", "-i", live.inventoryPath, "--become", "--ask-become-pass"])
        #expect(status == 2 && text.contains("needs a terminal"), "\(text)")
    }
}
