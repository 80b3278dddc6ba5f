import Foundation
import GoliveTestSupport
import Sandbox
import System
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The demo's go-live, unchanged, for a user whose only key is RSA or who logs in with a CA-signed
/// certificate: `auto` gives those hosts OpenSSH, says so in ping, the run's output and the
/// timeline, and the run deploys, rolls back a broken release, and recovers a killed controller's
/// hosts through it exactly as through libssh2. The hosts' files are what the tests look at.
@Suite(.serialized) struct OpenSSHRunTests {
    let golive = GoliveBinary()

    private func playbook(_ live: LiveHosts, pausingWith command: String? = nil) throws -> String {
        var text = try String(contentsOfFile: golive.root + "/playbooks/webapp.yml", encoding: .utf8)
            .replacingOccurrences(of: "files/webapp/", with: golive.root + "/playbooks/files/webapp/")
        if let command { text = text.replacingOccurrences(of: "  - name: switch current", with: "  - name: wait\n    shell: \(command)\n  - name: switch current") }
        return try live.write(text, name: "webapp-\(UUID().uuidString.prefix(6)).yml")
    }

    private func lines(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test(arguments: [Sandbox.ClientKey.rsa, .certificate])
    func theDemoGoLiveRunsUnchangedThroughOpenSSH(_ key: Sandbox.ClientKey) async throws {
        let live = try LiveHosts(count: 2, login: LiveHosts.productionLogin, key: key)
        defer { live.stop() }
        let store = live.directory + "/store.sqlite"
        let why = key == .rsa ? "is RSA" : "has a certificate"
        // ping: each host's transport and why.
        let ping = try golive.run(["ping", "-i", live.inventoryPath, "--json"])
        #expect(ping.status == 0, "\(ping.output)")
        let pinged = try lines(ping.output)
        #expect(pinged.count == 2 && pinged.allSatisfy { $0["transport"] as? String == "openssh" && ($0["transport_reason"] as? String)?.contains(why) == true })
        let text = try golive.run(["ping", "-i", live.inventoryPath])
        #expect(text.output.contains("openssh: its key") && text.output.contains(why), "\(text.output)")

        let play = try playbook(live)
        let run = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store, "--yes"])
        #expect(run.status == 0, "\(run.output.suffix(2000))")
        #expect(run.output.contains("via openssh (its key"), "the run's output says which transport and why")
        #expect(live.current("web1") == "2.0.0" && live.current("web2") == "2.0.0")
        let id = try #require(BecomeCommandTests.runID(run.output))
        let connected = try golive.timelineEvents(id, store: store).filter { $0["kind"] as? String == "hostConnected" }
        #expect(connected.count == 2)
        for event in connected {
            let details = event["details"] as? [String: Any]
            #expect(details?["transport"] as? String == "openssh" && (details?["transport_reason"] as? String)?.contains(why) == true, "\(event)")
        }

        // A broken release: rolled back through OpenSSH, the trees as they were.
        let before = try live.hosts.map { try treeListing($0.appDirectory) }
        let broken = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store, "--yes", "-e", "version=3.0.0", "-e", "healthy=false"])
        #expect(broken.status == 1, "\(broken.output.suffix(2000))")
        #expect(try live.hosts.map { try treeListing($0.appDirectory) } == before)
    }

    @Test func aKilledControllersHostsAreRecoveredThroughOpenSSHAndItsCommandStopped() async throws {
        let live = try LiveHosts(count: 2, login: LiveHosts.productionLogin, transport: "openssh")
        defer { live.stop() }
        let store = live.directory + "/store.sqlite"
        let play = try playbook(live, pausingWith: "sleep 3187")
        let log = live.directory + "/killed.log"
        let process = try golive.start(["run", play, "-i", live.inventoryPath, "--store", store, "--yes", "--json"], output: log)
        #expect(await eventually(timeout: .seconds(60)) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\"stepName\":\"wait\"") })
        #expect(await eventually(timeout: .seconds(20)) { !BecomeCommandTests.processes(["sleep", "3187"]).isEmpty })
        let id = try #require(GoliveBinary.runID(in: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "") ?? BecomeCommandTests.runID((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        process.signal(SIGKILL)
        process.wait()
        // Its ssh processes die with it (the master's stdin was golive's pipe); the step's command lives on.
        #expect(await eventually(timeout: .seconds(10)) { BecomeCommandTests.processes(["sleep", "3187"]).count >= 1 })
        #expect(
            await eventually(timeout: .seconds(15)) {
                ((try? HostTools.sh("pgrep -f 'ssh .*golive-ss[h]-' || true")) ?? "x").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            }, "an ssh process outlived its controller: \((try? HostTools.sh("pgrep -a -f 'ssh .*golive-ss[h]-' || true")) ?? "")")
        let resumed = try golive.run(["resume", id, "--rollback", "--store", store])
        #expect(resumed.status == 0, "\(resumed.output.suffix(2000))")
        #expect(BecomeCommandTests.processes(["sleep", "3187"]).isEmpty, "the recovery left the lost step's command running")
        #expect(live.current("web1") == "1.0.0" && live.current("web2") == "1.0.0")
        for host in live.hosts { #expect(!FileManager.default.fileExists(atPath: host.lockDirectory)) }
    }

    @Test func anSSHConfigThatReliesOnMatchRunsTheDemoThroughOpenSSH() async throws {
        let live = try LiveHosts(count: 2, login: LiveHosts.productionLogin)
        defer { live.stop() }
        let store = live.directory + "/store.sqlite"
        // The inventory says where the hosts are; who logs in, with which key and known_hosts, is the
        // ssh_config's, by Match.
        var inventory = try String(contentsOfFile: live.inventoryPath, encoding: .utf8)
        let login = inventory.components(separatedBy: "\n").filter { line in
            ["  user: ", "  identity: ", "  known_hosts: "].contains(where: line.hasPrefix)
        }
        for line in login { inventory = inventory.replacingOccurrences(of: line + "\n", with: "") }
        let directory = URL(fileURLWithPath: live.inventoryPath).deletingLastPathComponent().path
        func value(_ prefix: String) -> String {
            let raw = login.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) } ?? ""
            return raw.hasPrefix("/") || prefix == "  user: " ? raw : directory + "/" + raw
        }
        let config = "Match host 127.0.0.1\n  User \(value("  user: "))\n  IdentityFile \(value("  identity: "))\n"
            + "  UserKnownHostsFile \(value("  known_hosts: "))\n"
        let inventoryPath = live.directory + "/by-match.yml"
        let configPath = live.directory + "/ssh_config"
        try inventory.write(toFile: inventoryPath, atomically: true, encoding: .utf8)
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(login.count == 3 && !inventory.contains("identity:") && !inventory.contains("known_hosts:"), "\(inventory)")
        let run = try golive.run(["run", try playbook(live), "-i", inventoryPath, "--ssh-config", configPath, "--store", store, "--yes"])
        #expect(run.status == 0, "\(run.output.suffix(2000))")
        #expect(run.output.contains("via openssh (its ssh_config uses Match)"), "\(run.output.suffix(2000))")
        #expect(live.current("web1") == "2.0.0" && live.current("web2") == "2.0.0")
    }
}
