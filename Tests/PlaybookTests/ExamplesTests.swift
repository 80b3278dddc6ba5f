import Foundation
import Playbook
import Testing

/// The examples under playbooks/ and inventories/ always validate, and random damage to them never
/// crashes the loader: it ends in a valid file or located errors.
struct ExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func files(_ directory: String) -> [String] {
        let path = root.appendingPathComponent(directory).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".yml") }.sorted()
            .map { "\(path)/\($0)" }
    }

    @Test(arguments: files("inventories").filter { !$0.hasSuffix("sandbox.yml") })
    func exampleInventoriesValidate(_ path: String) throws {
        _ = try Inventory.load(file: path, environment: ["BILLING_DB_PASSWORD": "example-password", "DEPLOY_KEY_PASSPHRASE": "example-passphrase"])
    }

    /// `tiers.yml` names the sandbox's database server and load balancer (db1, lb1): it is checked
    /// against the sandbox, where it is rehearsed (ExampleRehearsalTests). `release.yml` names the
    /// web stack's services: it runs on the inventory `examples/web-stack/stack.py` writes (WebStackGoLiveTests).
    static let sandboxOnly = ["tiers.yml", "release.yml"]

    @Test(arguments: files("playbooks").filter { path in !sandboxOnly.contains { path.hasSuffix("/" + $0) } })
    func examplePlaybooksValidateAgainstTheStagingInventory(_ path: String) throws {
        let (playbook, warnings) = try Playbook.load(file: path)
        let inventory = try Inventory.load(file: Self.root.appendingPathComponent("inventories/staging.yml").path).0
        let play = try Validator().validate(playbook, inventory)
        // The shipped examples are what users copy: no warning but the one a deliberate `| raw` earns.
        let unexpected = (warnings + play.warnings).filter { !"\($0)".contains("| raw") }
        #expect(unexpected.isEmpty, "\(unexpected)")
    }

    /// `inventories/ansible-staging` is staging written as an Ansible inventory (INI, group_vars,
    /// host_vars): golive resolves it to the same hosts, addresses, logins, jumps and variables.
    @Test func theAnsibleExampleIsTheStagingInventory() throws {
        let environment = ["BILLING_DB_PASSWORD": "example-password"]
        let own = try Inventory.load(file: Self.root.appendingPathComponent("inventories/staging.yml").path, environment: environment).0
        let ansible = try Inventory.load(sources: [Self.root.appendingPathComponent("inventories/ansible-staging").path], environment: environment).0
        #expect(ansible.format == .ansible && ansible.environment == own.environment)
        #expect(Set(ansible.hosts.map(\.name)) == Set(own.hosts.map(\.name)))
        for host in own.hosts {
            let other = try #require(ansible.host(named: host.name))
            #expect(other.address == host.address)
            #expect(other.ssh.user == host.ssh.user && (other.ssh.port ?? 22) == (host.ssh.port ?? 22))
            #expect(other.ssh.identity == host.ssh.identity && other.ssh.jump == host.ssh.jump)
            #expect(other.ssh.connectTimeout == host.ssh.connectTimeout)
            #expect(Set(other.groups) == Set(host.groups))
            let theirs = ansible.variables(of: other).filter { !$0.key.hasPrefix("ansible_") && !$0.key.hasPrefix("golive_") && $0.key != "db_password" }
            #expect(theirs == own.variables(of: host), "\(host.name)")
            #expect(ansible.variables(of: other)["db_password"] == .secret(Secret("example-password")))
        }
        for path in Self.files("playbooks").filter({ path in !Self.sandboxOnly.contains { path.hasSuffix("/" + $0) } }) {
            let (playbook, _) = try Playbook.load(file: path)
            _ = try Validator().validate(playbook, ansible)
        }
    }

    @Test func randomDamageNeverCrashesAndErrorsAreLocated() throws {
        var generator = SystemRandomNumberGenerator()
        let sources = Self.files("playbooks") + Self.files("inventories").filter { !$0.hasSuffix("sandbox.yml") }
        #expect(!sources.isEmpty)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var located = 0
        for iteration in 0..<3000 {
            let source = sources[iteration % sources.count]
            var lines = try String(contentsOfFile: source, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<max(1, lines.count), using: &generator)
                switch Int.random(in: 0..<5, using: &generator) {
                case 0: if !lines.isEmpty { lines.remove(at: index) }
                case 1: lines[index] = "  " + lines[index]
                case 2: lines[index] = String(lines[index].drop { $0 == " " })
                case 3:
                    var bytes = Array(lines[index].utf8)
                    bytes.insert(UInt8.random(in: 0...255, using: &generator), at: Int.random(in: 0...bytes.count, using: &generator))
                    lines[index] = String(decoding: bytes, as: UTF8.self)
                default: lines.insert(lines[Int.random(in: 0..<lines.count, using: &generator)], at: index)
                }
            }
            let path = directory.appendingPathComponent("case.yml").path
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let diagnostics: [PlaybookError]
            if source.contains("/inventories/") {
                do { _ = try Inventory.load(file: path, environment: [:]); diagnostics = [] } catch { diagnostics = error.diagnostics }
            } else {
                do { _ = try Playbook.load(file: path); diagnostics = [] } catch { diagnostics = error.diagnostics }
            }
            for diagnostic in diagnostics where diagnostic.severity == .error {
                #expect(diagnostic.location.file == path && diagnostic.location.line >= 1 && diagnostic.location.column >= 1)
                located += 1
            }
        }
        #expect(located > 100)
    }

    @Test func anAliasBombIsRefusedQuickly() throws {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 { text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        text += "name: bomb\nhosts: web\nvars: { big: *a9 }\ndeploy:\n  - shell: true\n"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bomb-\(UUID().uuidString).yml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let start = ContinuousClock.now
        let failure = try #require(throws: ValidationFailure.self) { try Playbook.load(file: path) }
        #expect(failure.errors.contains { $0.description.contains("alias bomb") || $0.description.contains("unknown key") })
        #expect(start.duration(to: .now) < .seconds(10))
    }
}
