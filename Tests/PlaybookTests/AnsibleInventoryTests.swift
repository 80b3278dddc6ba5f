import Foundation
@testable import Playbook
import Testing

/// Ansible inventories as golive reads them: connection variables mapped, secrets kept secret,
/// Vault refused, every problem at FILE:LINE:COL, the format told by content.
struct AnsibleInventoryTests {
    /// Writes `files` into a fresh directory and returns it.
    private func directory(_ files: [String: String]) throws -> String {
        let root = NSTemporaryDirectory() + "golive-ansible-\(UUID().uuidString.prefix(8))"
        for (path, text) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return root
    }

    private func load(_ files: [String: String], sources: [String] = ["hosts"], environment: [String: String] = [:], requireSecrets: Bool = false,
                      name: String? = "test") throws -> (Inventory, [PlaybookError], String) {
        let root = try directory(files)
        let (inventory, warnings) = try Inventory.load(
            sources: sources.map { root + "/" + $0 }, environment: environment, requireSecrets: requireSecrets, environmentName: name)
        return (inventory, warnings, root)
    }

    private func failure(_ files: [String: String], sources: [String] = ["hosts"], environment: [String: String] = [:], name: String? = "test")
        throws -> ([PlaybookError], String)
    {
        let root = try directory(files)
        let error = try #require(throws: ValidationFailure.self) {
            try Inventory.load(sources: sources.map { root + "/" + $0 }, environment: environment, environmentName: name)
        }
        return (error.diagnostics.filter { $0.severity == .error }, root)
    }

    @Test func connectionVariablesBecomeGolivesSettings() throws {
        let (inventory, _, _) = try load([
            "hosts": """
                [web]
                web1 ansible_host=10.0.0.11 ansible_port=2222 ansible_user=deploy ansible_ssh_private_key_file=/keys/web ansible_ssh_timeout=7
                web2 ansible_host=10.0.0.12 ansible_ssh_common_args='-o ProxyJump=bastion'
                web3 ansible_ssh_extra_args="-J ops@jump.example.com:2200" ansible_become=yes ansible_become_user=app ansible_become_method=su
                [edge]
                bastion ansible_host=203.0.113.7 ansible_ssh_common_args="-o UserKnownHostsFile=/etc/golive/known_hosts -o ConnectTimeout=3"
                """
        ])
        let web1 = try #require(inventory.host(named: "web1"))
        #expect(web1.address == "10.0.0.11" && web1.addressGiven)
        #expect(web1.ssh.port == 2222 && web1.ssh.user == "deploy" && web1.ssh.identity == "/keys/web")
        #expect(web1.ssh.connectTimeout == .seconds(7))
        let web2 = try #require(inventory.host(named: "web2"))
        #expect(web2.ssh.jump == "bastion")
        #expect(web2.ssh.proxyJump == nil)
        let web3 = try #require(inventory.host(named: "web3"))
        #expect(web3.ssh.jump == nil)
        #expect(web3.ssh.proxyJump == "ops@jump.example.com:2200")
        #expect(web3.ssh.become.become == Become(user: "app", method: .su, passwordSecret: nil))
        let bastion = try #require(inventory.host(named: "bastion"))
        #expect(bastion.ssh.knownHosts == "/etc/golive/known_hosts" && bastion.ssh.connectTimeout == .seconds(3))
        // Every variable stays available to templates, as written.
        #expect(web1.vars["ansible_port"] == .int(2222))
        #expect(inventory.format == .ansible && inventory.environment == "test")
    }

    @Test func aPlainTextPasswordIsUsedAsASecretWithAWarningNamingItsLine() throws {
        let (inventory, warnings, root) = try load([
            "hosts": "[web]\nweb1\n", "group_vars/web.yml": "x: 1\nansible_become_password: hunter2-secret\n",
        ])
        let web1 = try #require(inventory.host(named: "web1"))
        let name = try #require(web1.ssh.become.passwordSecret)
        #expect(inventory.secrets[name]?.value?.revealForUse() == "hunter2-secret")
        #expect(inventory.secrets[name]?.environmentVariable == nil)
        // Templates see a secret, never the text.
        #expect(web1.vars["ansible_become_password"] == .secret(Secret("hunter2-secret")))
        #expect(web1.vars["ansible_become_password"]?.text(revealingSecrets: false) == "••••")
        let warning = try #require(warnings.first { $0.keyPath == "ansible_become_password" })
        #expect(warning.severity == .warning)
        #expect(warning.location == SourceLocation(file: root + "/group_vars/web.yml", line: 2, column: 1))
        #expect(warning.kind.message.contains("plain text") && !warning.kind.message.contains("hunter2"))
        #expect(warning.hint?.contains("lookup('env'") == true)
    }

    @Test func anEnvironmentLookupIsASecretReadFromTheEnvironment() throws {
        let files = ["hosts": "[web]\nweb1 ansible_become_password=\"{{ lookup('env', 'SUDO_PW') }}\" ansible_password=\"{{lookup(\\\"env\\\",\\\"LOGIN_PW\\\")}}\"\n"]
        let (inventory, warnings, _) = try load(files, environment: ["SUDO_PW": "from-the-env", "LOGIN_PW": "login-secret"])
        #expect(warnings.isEmpty, "\(warnings)")
        let web1 = try #require(inventory.host(named: "web1"))
        #expect(web1.ssh.become.passwordSecret.flatMap { inventory.secrets[$0]?.environmentVariable } == "SUDO_PW")
        #expect(web1.ssh.become.passwordSecret.flatMap { inventory.secrets[$0]?.value?.revealForUse() } == "from-the-env")
        #expect(web1.ssh.passwordSecret.flatMap { inventory.secrets[$0]?.value?.revealForUse() } == "login-secret")
        // Unset: a warning for commands that only read, an error for those that connect.
        let (_, unset, _) = try load(files)
        #expect(unset.contains { $0.severity == .warning && $0.kind == .missingSecret(name: "ansible_become_password", variable: "SUDO_PW") })
        let root = try directory(files)
        #expect(throws: ValidationFailure.self) {
            try Inventory.load(sources: [root + "/hosts"], environment: [:], requireSecrets: true, environmentName: "test")
        }
    }

    @Test func vaultValuesAreRefusedWithWhatToDoInstead() throws {
        let inline = try failure([
            "inventory.yml": """
                all:
                  hosts:
                    web1:
                      ansible_become_password: !vault |
                        $ANSIBLE_VAULT;1.1;AES256
                        62313365396662343061393464336163383764373764613633653634306231386433626436623361
                """
        ], sources: ["inventory.yml"])
        #expect(inline.0.count == 1)
        #expect(inline.0.first?.location.line == 4)
        #expect(inline.0.first?.kind.message.contains("Ansible Vault") == true)
        #expect(inline.0.first?.hint?.contains("lookup('env'") == true)
        let file = try failure([
            "hosts": "[web]\nweb1\n", "group_vars/web/vault.yml": "$ANSIBLE_VAULT;1.1;AES256\n6231336539666234306139\n",
        ])
        #expect(file.0.first?.location == SourceLocation(file: file.1 + "/group_vars/web/vault.yml", line: 1, column: 1))
        let ini = try failure(["hosts": "[web]\nweb1 secret='$ANSIBLE_VAULT;1.1;AES256'\n"])
        #expect(ini.0.first?.location.line == 2)
    }

    @Test(arguments: [
        ("web1 ansible_connection=docker", "ansible_connection 'docker' is not one golive makes"),
        ("web1 ansible_ssh_common_args='-o StrictHostKeyChecking=no'", "golive always verifies host keys"),
        ("web1 ansible_ssh_extra_args='-o Compression=yes'", "the ssh option Compression is not one golive maps"),
        ("web1 ansible_ssh_extra_args='-i /keys/x'", "'-i' is not an ssh argument golive maps"),
        ("web1 ansible_become_method=runas", "become method 'runas' is not one golive runs"),
        ("web1 ansible_port=ssh", "ansible_port 'ssh' is not a port"),
        ("web1 ansible_become_password=abc", "at least 4"),
    ])
    func whatGoliveCannotHonourIsRefusedWhereItIsWritten(_ line: String, _ message: String) throws {
        let (errors, root) = try failure(["hosts": "[web]\n\(line)\n"])
        let error = try #require(errors.first)
        #expect(error.kind.message.contains(message), "\(error.kind.message)")
        #expect(error.location.file == root + "/hosts")
        #expect(error.location.line == 2 && error.location.column == 6)
    }

    @Test func sshOptionsGoliveManagesItselfAreIgnoredWithAWarning() throws {
        let (inventory, warnings, _) = try load(["hosts": "[web]\nweb1 ansible_ssh_common_args='-o ControlMaster=auto -o ControlPersist=60s'\n"])
        #expect(inventory.host(named: "web1") != nil)
        #expect(warnings.filter { $0.kind.message.contains("golive keeps one connection per host") }.count == 2)
    }

    @Test(arguments: [
        ("[web]\nweb1 novalue\n", 2, 6, "expected key=value after the host name, got 'novalue'"),
        ("[web:hostz]\nweb1\n", 1, 1, "unknown type 'hostz'"),
        ("[web servers]\nweb1\n", 1, 1, "is not a section header"),
        ("[web\nweb1\n", 1, 1, "is not closed"),
        ("[web]\n  web[1:x]\n", 2, 3, "neither a range of numbers nor of single letters"),
        ("[web]\nweb[3:1]\n", 2, 1, "begins after it ends"),
        ("[web]\nweb1:\n", 2, 1, "ends in ':'"),
        ("[a:children]\nb\n[b:children]\na\n", 4, 1, "groups form a cycle: b → a → b"),
        ("[a:children]\nnowhere\n", 2, 1, "'nowhere', a group that is not defined"),
        ("[web]\nweb1 x=\"unclosed\n", 2, 1, "a quotation is not closed"),
        ("[web]\nbad/name\n", 2, 1, "not a host name golive accepts"),
    ])
    func malformedINIIsLocated(_ text: String, _ line: Int, _ column: Int, _ message: String) throws {
        let (errors, root) = try failure(["hosts": text])
        let error = try #require(errors.first)
        #expect(error.kind.message.contains(message), "\(error.kind.message)")
        #expect(error.location == SourceLocation(file: root + "/hosts", line: line, column: column), "\(error.location)")
    }

    @Test func theFormatIsToldByContentNotByName() throws {
        // YAML in a file with no extension, INI in a file named .yml, golive's own as before.
        let (yaml, _, _) = try load(["inventory": "all:\n  children:\n    web:\n      hosts:\n        web1:\n"], sources: ["inventory"])
        #expect(yaml.format == .ansible && yaml.groups["web"]?.hosts == ["web1"])
        let (ini, _, _) = try load(["hosts.yml": "# generated\nweb1 ansible_host=10.0.0.1\n[db]\ndb1\n"], sources: ["hosts.yml"])
        #expect(ini.format == .ansible && ini.host(named: "web1")?.address == "10.0.0.1")
        let (own, _, _) = try load(["inventory.yml": "environment: test\nhosts:\n  web1: { address: 10.0.0.1 }\n"], sources: ["inventory.yml"])
        #expect(own.format == .golive)
        // A golive inventory is read on its own.
        let (mixed, _) = try failure(
            ["own.yml": "environment: test\nhosts:\n  web1:\n", "hosts": "[db]\ndb1\n"], sources: ["own.yml", "hosts"])
        #expect(mixed.first?.kind.message.contains("read on its own") == true)
    }

    @Test func theEnvironmentComesFromGoliveEnvironmentOrTheCommandLine() throws {
        let (named, _, _) = try load(["hosts": "[web]\nweb1\n", "group_vars/all.yml": "golive_environment: production\n"], name: nil)
        #expect(named.environment == "production")
        let (given, _, _) = try load(["hosts": "[web]\nweb1\n"], name: "staging")
        #expect(given.environment == "staging")
        let (missing, root) = try failure(["hosts": "[web]\nweb1\n"], name: nil)
        #expect(missing.first?.kind == .missingKey("golive_environment"))
        #expect(missing.first?.location.file == root + "/hosts")
        let (conflict, _) = try failure(["hosts": "[web]\nweb1\n", "group_vars/all.yml": "golive_environment: production\n"], name: "staging")
        #expect(conflict.first?.kind.message.contains("disagrees") == true)
        let (split, _) = try failure(["hosts": "[web]\nweb1 golive_environment=a\nweb2 golive_environment=b\n"], name: nil)
        #expect(split.first?.kind.message.contains("differs between hosts") == true)
    }

    @Test func namesTemplatesUseForGolivesOwnAreLeftOutWithAWarning() throws {
        let (inventory, warnings, _) = try load(["hosts": "[web]\nweb1 host=x run=y weight=2 cmd='{{ other }}'\n"])
        let web1 = try #require(inventory.host(named: "web1"))
        #expect(web1.vars["host"] == nil && web1.vars["run"] == nil && web1.vars["weight"] == .int(2))
        #expect(warnings.filter { $0.kind.message.contains("is left out") }.count == 2)
        #expect(warnings.contains { $0.kind.message.contains("Jinja") && $0.keyPath == "cmd" })
    }

    @Test func aLocalConnectionIsSaidInBothFormats() throws {
        let (ansible, _, _) = try load(["hosts": "ctl ansible_connection=local\nweb1 ansible_connection=ssh\n"])
        #expect(ansible.host(named: "ctl")?.ssh.connection == .local)
        #expect(ansible.host(named: "web1")?.ssh.connection == .ssh)
        let (own, _, _) = try load(
            ["inventory.yml": "environment: test\ndefaults: { connection: ssh }\nhosts:\n  ctl: { connection: local }\n  web1:\n"],
            sources: ["inventory.yml"], name: nil)
        #expect(own.host(named: "ctl")?.ssh.connection == .local)
        #expect(own.host(named: "web1")?.ssh.connection == .ssh)
        let (bad, _) = try failure(["inventory.yml": "environment: test\nhosts:\n  ctl: { connection: telnet }\n"], sources: ["inventory.yml"], name: nil)
        #expect(bad.first?.kind.message.contains("not a connection") == true)
    }

    @Test(arguments: [
        ("web[01:03]", ["web01", "web02", "web03"]), ("db-[a:c]", ["db-a", "db-b", "db-c"]), ("n[0:8:4]", ["n0", "n4", "n8"]),
        ("r[1:2][a:b]", ["r1a", "r1b", "r2a", "r2b"]), ("w[:1]", ["w0", "w1"]), ("plain", ["plain"]), ("x[A:C]", ["xA", "xB", "xC"]),
    ])
    func hostRangesExpandAsAnsibleExpandsThem(_ pattern: String, _ names: [String]) throws {
        #expect(try HostRange.expand(pattern) == names)
    }

    @Test func aHugeRangeIsRefusedBeforeItIsExpanded() {
        #expect(throws: HostRange.Failure.self) { try HostRange.expand("h[0:99999999]") }
        #expect(throws: HostRange.Failure.self) { try HostRange.expand("a[0:999]b[0:999]") }
    }

    @Test(arguments: [
        ("1", Value.int(1)), ("0x1F", .int(31)), ("-2", .int(-2)), ("1.5", .double(1.5)), ("True", .bool(true)), ("None", .null),
        ("'a b'", .string("a b")), ("\"x\\ty\"", .string("x\ty")), ("'a' 'b'", .string("ab")), ("[1, 'x']", .list([.int(1), .string("x")])),
        ("{'k': [True, None]}", .map(["k": .list([.bool(true), .null])])), ("(1,)", .list([.int(1)])), ("(1)", .int(1)),
        ("yes", .string("yes")), ("012", .string("012")), ("1 # note", .int(1)), ("abc def", .string("abc def")), ("[", .string("[")),
        ("1e3", .double(1000)), ("r'\\n'", .string("\\n")),
    ])
    func iniValuesAreTypedAsPythonLiterals(_ text: String, _ value: Value) {
        #expect(PythonLiteral.value(text) == value)
    }

    @Test func deeplyNestedLiteralsAreReadAsText() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(PythonLiteral.value(deep) == .string(deep))
    }

    @Test(arguments: [
        ("web:&prod:!web3", ["web1", "web2"]), ("~web[12]", ["web1", "web2"]), ("web[0]", ["web1"]), ("web[-1]", ["web3"]),
        ("web[1:]", ["web2", "web3"]), ("web[0:1]", ["web1", "web2"]), ("w?b[!1]", ["web2", "web3"]), ("db,web[2]", ["web3", "db1"]),
        ("all[0]", ["web1"]), ("all[-1]", ["db1"]), ("web[1-2]", ["web2", "web3"]),
    ])
    func ansiblePatternsSelectOnGolivesOwnInventoriesToo(_ pattern: String, _ names: [String]) throws {
        let (inventory, _, _) = try load(
            [
                "inventory.yml":
                    "environment: test\ngroups:\n  web:\n    hosts:\n      web1:\n      web2:\n      web3:\n  prod:\n    hosts: [web1, web2, db1]\n  db:\n    hosts:\n      db1:\n"
            ], sources: ["inventory.yml"], name: nil)
        #expect(try inventory.select(pattern).map(\.name) == names)
    }

    @Test(arguments: [
        ("a1 ansible_ssh_common_args=\"-J a1\"\n", "jump hosts form a cycle: a1 → a1"),
        ("a1 ansible_ssh_common_args=\"-o ProxyJump=a2\"\na2 ansible_ssh_common_args=\"-J a1\"\n", "jump hosts form a cycle: a1 → a2 → a1"),
        ("me ansible_connection=local\na1 ansible_ssh_common_args=\"-J me\"\n", "'me' is the controller"),
        ("a ansible_ssh_common_args=\"-J u@a\"\n", "jump hosts form a cycle: a → a"),
        ("a ansible_ssh_common_args=\"-J a:22\"\n", "jump hosts form a cycle: a → a"),
        ("a ansible_ssh_common_args=\"-J b,c\"\nb\nc ansible_ssh_extra_args=\"-J u@a:2222\"\n", "jump hosts form a cycle: a → c → a"),
    ])
    func jumpCyclesAndJumpsThroughTheControllerAreLocatedErrors(_ hosts: String, _ message: String) throws {
        let (errors, root) = try failure(["hosts": "[web]\n" + hosts])
        let error = try #require(errors.first)
        #expect(error.kind.message.contains(message), "\(error.kind.message)")
        #expect(error.location.file == root + "/hosts" && error.location.line >= 2)
    }

    @Test func noExcerptShowsAPassword() throws {
        let root = try directory([
            "hosts": "[web]\nweb1 ansible_become_pass=Hunter2Plain ansible_password='x y z' note=bad=\n",
            "group_vars/all.yml": "ansible_become_password: SuperSecretPlain123\nansible_ssh_pass: \"quoted secret\"\n",
        ])
        let (_, warnings) = try Inventory.load(sources: [root + "/hosts"], environment: [:], environmentName: "test")
        let text = DiagnosticRenderer().render(warnings)
        #expect(!warnings.isEmpty)
        for secret in ["Hunter2Plain", "x y z", "SuperSecretPlain123", "quoted secret"] { #expect(!text.contains(secret), "\(text)") }
        #expect(text.contains("ansible_become_pass=••••"))
        #expect(DiagnosticRenderer.concealingPasswords("h ansible_su_pass=\"a \\\" b\" x=1") == "h ansible_su_pass=•••• x=1")
    }

    @Test func connectionVariablesMayBeReadFromTheEnvironment() throws {
        let files = ["hosts": "[web]\nweb1 ansible_user=\"{{ lookup('env', 'DEPLOY_USER') }}\"\n"]
        let (inventory, _, _) = try load(files, environment: ["DEPLOY_USER": "alice"])
        #expect(inventory.host(named: "web1")?.ssh.user == "alice")
        #expect(inventory.host(named: "web1")?.vars["ansible_user"] == .string("alice"))
        let (_, warnings, _) = try load(files)
        #expect(warnings.contains { $0.severity == .warning && $0.kind.message.contains("DEPLOY_USER, which is not set") })
    }

    @Test(arguments: [
        ("ansible_ssh_executable=/opt/ssh", "golive runs the system's ssh itself"),
        ("ansible_shell_type=powershell", "golive's commands are POSIX shell"),
        ("ansible_become_flags='-H -S'", "flags of its own"),
        ("ansible_ssh_args='-o ProxyCommand=nc'", "the ssh option ProxyCommand is not one golive maps"),
        ("ansible_ssh_common_args='-o UserKnownHostsFile=\"/a b /c\"'", "names 3 files"),
    ])
    func moreConnectionVariablesGoliveCannotHonourAreRefused(_ assignment: String, _ message: String) throws {
        let (errors, _) = try failure(["hosts": "[web]\nweb1 \(assignment)\n"])
        #expect(errors.first?.kind.message.contains(message) == true, "\(errors)")
    }

    @Test func theFirstValueOfAnSSHOptionWinsAsInSSH() throws {
        let (inventory, warnings, _) = try load([
            "hosts": "[web]\nweb1 ansible_ssh_common_args='-o UserKnownHostsFile=/first -o UserKnownHostsFile=/second -J j1 -o ProxyJump=j2' ansible_connection=ansible.builtin.ssh ansible_scp_extra_args=-l\n"
        ])
        let web1 = try #require(inventory.host(named: "web1"))
        #expect(web1.ssh.knownHosts == "/first" && web1.ssh.proxyJump == "j1" && web1.ssh.connection == .ssh)
        #expect(warnings.contains { $0.kind.message.contains("sends files over its own connection") })
    }

    @Test func brokenYAMLIsReportedAsYAMLAndBrokenFilesAsUnreadable() throws {
        let (yaml, _) = try failure(["inventory.yml": "all:\n  hosts:\n    web1:\n  hosts:\n    web2:\n"], sources: ["inventory.yml"])
        #expect(yaml.first.map { !$0.kind.message.contains("kept for a port") } == true, "\(yaml)")
        let root = try directory(["inv/hosts": "[web]\nweb1\n"])
        try FileManager.default.createSymbolicLink(atPath: root + "/inv/dangling", withDestinationPath: root + "/nowhere")
        let error = try #require(throws: ValidationFailure.self) {
            try Inventory.load(sources: [root + "/inv"], environment: [:], environmentName: "test")
        }
        #expect(error.errors.first?.kind.message.contains("cannot read this inventory file") == true, "\(error.errors)")
        #expect(error.errors.first?.location.file == root + "/inv/dangling")
    }

    @Test(arguments: [
        ("inventory.yml", "# a comment\n---\nall:\n  hosts:\n\th1:\n", "found character"),
        ("inventory.yml", "all:\n  vars:\n    ah: =\n", "cannot be a value here"),
        ("inventory.yml", "all:\n  vars:\n    b: !!binary aGVsbG8=\n", "binary values"),
        ("hosts", "[web]\nw1\n[web:vars]\nansible_group_priority=x\n", "ansible_group_priority must be a whole number"),
        ("hosts", "[web]\nw1 ansible_ssh_common_args='-J a -J b'\n", "ssh takes one -J"),
        ("hosts", "[web]\nw1 ansible_ssh_common_args='-o ProxyJump='\n", "ProxyJump is empty"),
    ])
    func moreMalformedInputIsLocated(_ name: String, _ text: String, _ message: String) throws {
        let (errors, root) = try failure([name: text], sources: [name])
        let error = try #require(errors.first)
        #expect(error.kind.message.contains(message), "\(errors)")
        #expect(error.location.file == root + "/" + name && error.location.line > 1)
    }

    @Test func variablesNamedAsSecretsAreKeptAsSecrets() throws {
        let (inventory, warnings, _) = try load(["hosts": "[web]\nw1 db_password=plain-db-pw api_token=tok-12345 short_pass=abc port=80\n"])
        let w1 = try #require(inventory.host(named: "w1"))
        #expect(w1.vars["db_password"] == .secret(Secret("plain-db-pw")))
        #expect(w1.vars["api_token"] == .secret(Secret("tok-12345")))
        #expect(w1.vars["port"] == .int(80))
        #expect(warnings.filter { $0.kind.message.contains("looks like a secret") }.count == 2)
        let text = DiagnosticRenderer().render(warnings)
        #expect(!text.contains("plain-db-pw") && !text.contains("tok-12345"), "\(text)")
    }

    @Test func connectionVariablesOfALocalHostAreSaidToBeIgnored() throws {
        let (_, warnings, _) = try load(["hosts": "[ops]\nctl ansible_connection=local ansible_user=bob\n"])
        #expect(warnings.contains { $0.kind.message.contains("connection variables are ignored") })
    }
}
