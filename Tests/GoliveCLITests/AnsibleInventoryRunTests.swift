import Foundation
import GoliveTestSupport
import Playbook
import System
import Testing

/// An Ansible inventory directory (INI + group_vars + host_vars) drives `golive plan` and
/// `golive run` unchanged, against real sshd hosts; a host with `ansible_connection=local` runs on
/// the controller, with no SSH, and is rolled back there. The hosts' files are what is checked.
@Suite(.serialized) struct AnsibleInventoryRunTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    var store: String { live.directory + "/store.sqlite" }
    var playbook: String { golive.root + "/playbooks/webapp.yml" }

    init() throws { live = try LiveHosts(count: 2) }

    /// The sandbox's inventory written out as an Ansible inventory directory: the hosts in INI with
    /// their connection variables, everything shared in `group_vars/all.yml`, each host's own
    /// variables in `host_vars/HOST.yml`, each group's in `group_vars/GROUP`.
    func ansibleDirectory(extra: String = "") throws -> String {
        let (inventory, _) = try Inventory.load(file: live.inventoryPath)
        let directory = live.directory + "/ansible-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory + "/group_vars", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/host_vars", withIntermediateDirectories: true)
        func yaml(_ vars: [String: Value]) -> String {
            vars.keys.sorted().map { "\($0): \"\(vars[$0]?.text(revealingSecrets: false) ?? "")\"\n" }.joined()
        }
        var ini = ""
        for (name, group) in inventory.groups.sorted(by: { $0.key < $1.key }) {
            ini += "[\(name)]\n"
            for host in group.hosts {
                guard let settings = inventory.host(named: host) else { continue }
                ini += "\(host) ansible_host=\(settings.address) ansible_port=\(settings.ssh.port ?? 22)\n"
            }
            try yaml(group.vars).write(toFile: directory + "/group_vars/\(name)", atomically: true, encoding: .utf8)
        }
        try (ini + extra).write(toFile: directory + "/hosts", atomically: true, encoding: .utf8)
        let base = URL(fileURLWithPath: live.inventoryPath).deletingLastPathComponent()
        let defaults = try #require(inventory.hosts.first?.ssh)
        let identity = base.appendingPathComponent(try #require(defaults.identity)).standardizedFileURL.path
        let knownHosts = base.appendingPathComponent(try #require(defaults.knownHosts)).standardizedFileURL.path
        try ("golive_environment: \(inventory.environment)\nansible_user: \(try #require(defaults.user))\n"
            + "ansible_ssh_private_key_file: \(identity)\nansible_ssh_common_args: -o UserKnownHostsFile=\(knownHosts)\n" + yaml(inventory.vars))
            .write(toFile: directory + "/group_vars/all.yml", atomically: true, encoding: .utf8)
        for host in inventory.hosts {
            try yaml(host.vars).write(toFile: directory + "/host_vars/\(host.name).yml", atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test func anAnsibleInventoryDirectoryPlansAndRunsAsGolivesOwnInventory() throws {
        let directory = try ansibleDirectory()
        // The same plan, step for step and host for host (the fingerprint covers the variables,
        // and the Ansible inventory has its connection variables besides).
        let ours = try golive.run(["plan", playbook, "-i", live.inventoryPath])
        let theirs = try golive.run(["plan", playbook, "-i", directory])
        #expect(ours.status == 0, "\(ours.output)")
        #expect(theirs.status == 0, "\(theirs.output)")
        let body = { (text: String) in text.split(separator: "\n").dropFirst(2).joined(separator: "\n") }
        let (a, b) = (body(ours.output).split(separator: "\n"), body(theirs.output).split(separator: "\n"))
        let differing = zip(a, b).first { $0 != $1 }
        #expect(a.count == b.count && differing == nil, "first difference: \(differing.map { "\($0.0)\n  vs \($0.1)" } ?? "length \(a.count) vs \(b.count)")")
        #expect(body(theirs.output).contains("web1"))

        let run = try golive.run(["run", playbook, "-i", directory, "--store", store, "-e", "version=2.5.0"])
        #expect(run.status == 0, "\(run.output)")
        #expect(live.current("web1") == "2.5.0")
        #expect(live.current("web2") == "2.5.0")
        // A broken release is rolled back on the hosts, through the same inventory.
        let broken = try golive.run(["run", playbook, "-i", directory, "--store", store, "-e", "version=3.0.0", "-e", "healthy=false"])
        #expect(broken.status == 1, "\(broken.output)")
        #expect(live.current("web1") == "2.5.0")
        #expect(live.current("web2") == "2.5.0")
        // `resume`/`rollback` find the inventory again from the run's record.
        let events = try golive.timelineEvents(nil, store: store)
        let started = try #require(events.first { $0["kind"] as? String == "runStarted" })
        let details = started["details"] as? [String: Any]
        #expect((details?["inventory_file"] as? String)?.hasSuffix(URL(fileURLWithPath: directory).lastPathComponent) == true)
    }

    /// A run over two Ansible sources, its environment named with `--environment`, killed mid-run:
    /// `rollback` finds both sources and the environment again in the run's record, and undoes it.
    @Test func aKilledRunOverAnsibleSourcesIsRolledBackFromItsRecord() throws {
        let directory = try ansibleDirectory()
        let all = directory + "/group_vars/all.yml"
        try (try String(contentsOfFile: all, encoding: .utf8)).split(separator: "\n").filter { !$0.hasPrefix("golive_environment") }
            .joined(separator: "\n").appending("\n").write(toFile: all, atomically: true, encoding: .utf8)
        try "[canary]\nweb1\n".write(toFile: directory + "/canary.ini", atomically: true, encoding: .utf8)
        let sources = ["-i", directory + "/hosts", "-i", directory + "/canary.ini"]
        let unnamed = try golive.run(["plan", playbook] + sources)
        #expect(unnamed.status == 2)
        #expect(unnamed.output.contains("golive_environment"))
        let killed = try golive.run(
            ["run", playbook] + sources + ["--environment", "ansible-sandbox", "--store", store, "-e", "version=4.0.0", "--json"],
            environment: ["GOLIVE_FAULT_KILL_AFTER_EVENTS": "50"])
        #expect(killed.status == 137, "\(killed.output.suffix(500))")
        let id = try #require(GoliveBinary.runID(in: killed.output))
        #expect(live.current("web1") != "1.0.0" || live.current("web2") != "1.0.0")
        let events = try golive.timelineEvents(id, store: store)
        let details = try #require(events.first { $0["kind"] as? String == "runStarted" }?["details"] as? [String: Any])
        #expect(details["environment"] as? String == "ansible-sandbox")
        #expect((details["inventory_files"] as? String)?.contains("canary.ini") == true)
        let rollback = try golive.run(["rollback", id, "--store", store])
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(live.current("web1") == "1.0.0")
        #expect(live.current("web2") == "1.0.0")
    }

    @Test func aLocalConnectionHostRunsOnTheControllerAndIsRolledBackThere() throws {
        let work = live.directory + "/controller-work"
        let directory = try ansibleDirectory(extra: "[ops]\nctl ansible_connection=local work=\(work)\n")
        try "hello {{ host.name }} from {{ work }}\n".write(toFile: live.directory + "/note.txt", atomically: true, encoding: .utf8)
        let play = try live.write(
            """
            name: on the controller
            hosts: ops
            deploy:
              - name: make the release
                shell: mkdir -p {{ work }} && printf '%s\\n' "$(pwd)" > {{ work }}/release
                rollback: rm -rf {{ work }}
              - name: send the note
                template: { src: \(live.directory)/note.txt, dest: "{{ work }}/note.txt" }
              - name: maybe fail
                shell: test "{{ fail }}" = no
            vars: { fail: "no" }
            """, name: "local.yml")
        let run = try golive.run(["run", play, "-i", directory, "--store", store, "--json"])
        #expect(run.status == 0, "\(run.output)")
        #expect(try String(contentsOfFile: work + "/note.txt", encoding: .utf8) == "hello ctl from \(work)\n")
        // It ran as a login would: in the home directory, with no SSH.
        #expect(try String(contentsOfFile: work + "/release", encoding: .utf8) == NSHomeDirectory() + "\n")
        let events = try golive.timelineEvents(nil, store: store)
        let connected = try #require(events.first { $0["kind"] as? String == "hostConnected" })
        let details = try #require(connected["details"] as? [String: Any])
        #expect(details["transport"] as? String == "local")
        #expect(details["transport_reason"] as? String == "ansible_connection: local")
        let finished = events.filter { $0["kind"] as? String == "stepFinished" }
        #expect(!finished.isEmpty)
        #expect(finished.allSatisfy { ($0["details"] as? [String: Any])?["on_controller"] as? String == "true" })

        // A failure rolls the controller's files back.
        let failed = try golive.run(["run", play, "-i", directory, "--store", store, "-e", "fail=yes"])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(!FileManager.default.fileExists(atPath: work))
    }

    /// `-J user@host:port` through a host outside the inventory (here: web1's sshd, named by address),
    /// through both transports.
    @Test(arguments: ["libssh2", "openssh"])
    func aJumpHostOutsideTheInventoryIsUsed(_ transport: String) throws {
        let web1 = try #require(live.host("web1"))
        let user = try #require(try Inventory.load(file: live.inventoryPath).0.hosts.first?.ssh.user)
        let directory = try ansibleDirectory()
        let hosts = try String(contentsOfFile: directory + "/hosts", encoding: .utf8)
        try hosts.replacingOccurrences(of: "\nweb2 ", with: "\nweb2 ansible_ssh_extra_args='-J \(user)@\(web1.address):\(web1.sshPort)' ")
            .write(toFile: directory + "/hosts", atomically: true, encoding: .utf8)
        let (status, output) = try golive.run(["ping", "-i", directory, "--limit", "web2", "--transport", transport, "--json"])
        #expect(status == 0, "\(output)")
        let row = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(row["ok"] as? Bool == true)
        if transport == "libssh2" { #expect((row["endpoint"] as? String)?.contains("via") == true, "\(row)") }
        let shown = try golive.run(["inventory", "-i", directory, "--host", "web2"])
        #expect(shown.output.contains("jump        \(user)@\(web1.address):\(web1.sshPort)"), "\(shown.output)")
    }

    @Test func inventoryShowsEachHostsConnectionAfterTheSSHConfig() throws {
        let directory = try ansibleDirectory()
        let config = live.directory + "/ssh_config"
        try "Host web2\n  User someone-else\n  IdentityFile ~/.ssh/other_key\n".write(toFile: config, atomically: true, encoding: .utf8)
        let (status, output) = try golive.run(["inventory", "-i", directory, "--host", "web1", "--ssh-config", config])
        #expect(status == 0, "\(output)")
        #expect(output.contains("web1  (web)"))
        let web1 = try #require(live.host("web1"))
        let user = try #require(try Inventory.load(file: live.inventoryPath).0.hosts.first?.ssh.user)
        #expect(output.contains("connect     \(user)@\(web1.address):\(web1.sshPort)"))
        #expect(output.contains("transport   libssh2"))
        let json = try golive.run(["inventory", "-i", directory, "--list", "--json", "--ssh-config", config])
        #expect(json.status == 0, "\(json.output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let meta = try #require(object["_meta"] as? [String: Any])
        let hosts = try #require((meta["golive"] as? [String: Any])?["hosts"] as? [String: [String: Any]])
        // The inventory's ansible_user wins over the ssh_config's User, as with ssh -l.
        #expect(hosts["web2"]?["user"] as? String == hosts["web1"]?["user"] as? String)
        #expect((hosts["web2"]?["identity_files"] as? [String])?.first?.hasSuffix("id_ed25519") == true)
        #expect(((object["web"] as? [String: Any])?["hosts"] as? [String])?.sorted() == ["web1", "web2"])
        let graph = try golive.run(["inventory", "-i", directory, "--graph"])
        #expect(graph.output.hasPrefix("@all:\n  |--@ungrouped:\n"))
        #expect(graph.output.contains("  |--@web:\n  |  |--web1\n  |  |--web2"))
    }
}
