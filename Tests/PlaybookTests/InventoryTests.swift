import Foundation
import Playbook
import Testing

/// Inventories: groups, children, patterns and variable precedence.
struct InventoryTests {
    static let text = """
        environment: staging
        defaults: { user: deploy, port: 22 }
        groups:
          web:
            user: www
            hosts:
              web1: { address: 10.0.0.11, vars: { weight: 2, tier: host } }
              web2: { address: 10.0.0.12, port: 2222 }
              web3: { address: 10.0.0.13 }
            vars: { http_port: 8080, tier: group }
          canary:
            hosts: [web1]
          db:
            hosts:
              db1: { address: 10.0.0.21, jump: bastion }
          edge:
            hosts:
              bastion: { address: 10.0.0.1 }
          backend:
            children: [db]
            vars: { tier: backend }
        vars: { app: billing, tier: all }
        """

    private func inventory() throws -> Inventory {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("inv-\(UUID().uuidString).yml").path
        try Self.text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Inventory.load(file: path).0
    }

    @Test(arguments: [
        ("web", ["web1", "web2", "web3"]), ("all", ["web1", "web2", "web3", "db1", "bastion"]), ("web*", ["web1", "web2", "web3"]),
        ("web:!web3", ["web1", "web2"]), ("web:&canary", ["web1"]), ("web,db", ["web1", "web2", "web3", "db1"]),
        ("backend", ["db1"]), ("w?b2", ["web2"]), ("all:!web", ["db1", "bastion"]),
    ])
    func patternsSelectHostsAsAnsibleUsersExpect(_ pattern: String, _ expected: [String]) throws {
        #expect(try inventory().select(pattern).map(\.name) == expected)
    }

    @Test func unknownPatternPartsAreErrorsWithASuggestion() throws {
        let error = try #require(throws: HostPatternError.self) { try self.inventory().select("wbe") }
        #expect(error.hint == "did you mean 'web'?")
    }

    @Test func sshSettingsMergeDefaultsGroupsAndHosts() throws {
        let inventory = try inventory()
        #expect(inventory.host(named: "web2")?.ssh.port == 2222)
        #expect(inventory.host(named: "web1")?.ssh.user == "www")
        #expect(inventory.host(named: "db1")?.ssh.user == "deploy")
        #expect(inventory.host(named: "db1")?.ssh.jump == "bastion")
        #expect(inventory.host(named: "db1")?.groups == ["backend", "db"])
    }

    @Test func variablePrecedenceIsAllGroupHostPlaybookCommandLine() throws {
        let inventory = try inventory()
        let playbookPath = FileManager.default.temporaryDirectory.appendingPathComponent("pb-\(UUID().uuidString).yml").path
        try "name: p\nhosts: all\nvars: { app: from-playbook }\ndeploy:\n  - shell: echo {{ tier }} {{ app }}\n"
            .write(toFile: playbookPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: playbookPath) }
        let playbook = try Playbook.load(file: playbookPath).0
        let play = try Validator(extraVars: ["cli": .string("x")]).validate(playbook, inventory)
        #expect(play.plays[0].variables["web1"]?["tier"] == .string("host"))
        #expect(play.plays[0].variables["web2"]?["tier"] == .string("group"))
        #expect(play.plays[0].variables["db1"]?["tier"] == .string("backend"))
        #expect(play.plays[0].variables["bastion"]?["tier"] == .string("all"))
        #expect(play.plays[0].variables["web1"]?["app"] == .string("from-playbook"))
        let overridden = try Validator(extraVars: ["app": .string("cli")]).validate(playbook, inventory)
        #expect(overridden.plays[0].variables["web3"]?["app"] == .string("cli"))
    }

    @Test func aVariableMissingOnSomeHostsNamesThem() throws {
        let inventory = try inventory()
        let playbookPath = FileManager.default.temporaryDirectory.appendingPathComponent("pb-\(UUID().uuidString).yml").path
        try "name: p\nhosts: all\ndeploy:\n  - shell: curl localhost:{{ http_port }}\n".write(toFile: playbookPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: playbookPath) }
        let playbook = try Playbook.load(file: playbookPath).0
        let failure = try #require(throws: ValidationFailure.self) { try Validator().validate(playbook, inventory) }
        let error = try #require(failure.errors.first)
        #expect(error.location.line == 4 && error.location.column == 30)
        #expect(error.kind.message.contains("for host db1, bastion"))
    }

    @Test func aMissingSecretIsAWarningForValidateAndAnErrorForRun() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("s-\(UUID().uuidString).yml").path
        try "environment: p\nhosts:\n  a: { address: 10.0.0.1 }\nsecrets:\n  token: { env: GOLIVE_TEST_UNSET_VAR }\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (_, warnings) = try Inventory.load(file: path, environment: [:])
        #expect(warnings.first?.severity == .warning)
        let failure = try #require(throws: ValidationFailure.self) { try Inventory.load(file: path, environment: [:], requireSecrets: true) }
        #expect(failure.errors.first?.location.line == 5)
        let (loaded, _) = try Inventory.load(file: path, environment: ["GOLIVE_TEST_UNSET_VAR": "v4lue"])
        #expect(loaded.secrets["token"]?.value?.revealForUse() == "v4lue")
    }
}
