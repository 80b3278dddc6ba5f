import Engine
import Foundation
import Playbook
import Testing

/// The plan of a playbook with plays: its lines name each play, and its fingerprint changes with them.
struct ResolvedPlanTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString)").path

    func plan(_ text: String) throws -> ResolvedPlan {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let inventory = directory + "/inventory.yml"
        try """
            environment: test
            groups:
              web: { hosts: { web1: { address: 10.0.0.1 }, web2: { address: 10.0.0.2 } } }
              database: { hosts: { db1: { address: 10.0.0.9 } } }
            """.write(toFile: inventory, atomically: true, encoding: .utf8)
        let path = directory + "/play-\(UUID().uuidString).yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return ResolvedPlan(try Validator().validate(try Playbook.load(file: path).0, try Inventory.load(file: inventory).0))
    }

    static let web = """
          - id: web
            name: roll the web hosts
            hosts: web
            serial: 1
            deploy:
              - shell: "true"
                rollback: none
        """

    @Test func addingAPlayChangesTheFingerprint() throws {
        let one = try plan("name: go-live\nplays:\n" + Self.web)
        let two = try plan(
            "name: go-live\nplays:\n  - id: migrate\n    name: migrate\n    hosts: database\n    deploy:\n      - shell: \"true\"\n        rollback: none\n"
                + Self.web)
        #expect(one.fingerprint != two.fingerprint)
        let keys = two.entries.map(\.key)
        #expect(keys.contains("play migrate") && keys.contains("play web") && keys.contains("web.serial"))
        #expect(two.entries.first { $0.key == "batches" }?.value == "db1;web1;web2")
        let changes = two.changes(from: one)
        #expect(changes.contains { $0.hasPrefix("play migrate added") }, "\(changes)")
        // The same plays in another order are another plan.
        let swapped = try plan(
            "name: go-live\nplays:\n" + Self.web
                + "\n  - id: migrate\n    name: migrate\n    hosts: database\n    deploy:\n      - shell: \"true\"\n        rollback: none\n")
        #expect(swapped.fingerprint != two.fingerprint)
    }

    @Test func theRollbackRollsTheDeploysBatchesNewestFirstOrItsOwnSizesFromItsStart() throws {
        func play(_ extra: String) throws -> ValidatedPlay {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let inventory = directory + "/four.yml"
            try "environment: t\ngroups:\n  web:\n    hosts: { w1: {}, w2: {}, w3: {}, w4: {} }\n".write(toFile: inventory, atomically: true, encoding: .utf8)
            let path = directory + "/roll-\(UUID().uuidString).yml"
            try "name: r\nhosts: web\nserial: 1\n\(extra)deploy:\n  - shell: \"true\"\n    rollback: none\n".write(toFile: path, atomically: true, encoding: .utf8)
            return try Validator().validate(try Playbook.load(file: path).0, try Inventory.load(file: inventory).0).plays[0]
        }
        let all = ["w1", "w2", "w3", "w4"]
        #expect(Planner.rollbackBatches(try play(""), changed: all) == [["w4"], ["w3"], ["w2"], ["w1"]])
        #expect(Planner.rollbackBatches(try play(""), changed: ["w1", "w2"]) == [["w2"], ["w1"]])
        // rollback_serial's sizes count from the start of the rollback: the newest hosts first.
        #expect(Planner.rollbackBatches(try play("rollback_serial: [1, 100%]\n"), changed: all) == [["w4"], ["w1", "w2", "w3"]])
        #expect(Planner.rollbackBatches(try play("rollback_serial: 3\n"), changed: all) == [["w2", "w3", "w4"], ["w1"]])
        #expect(Planner.rollbackBatches(try play("rollback_serial: 100%\n"), changed: all) == [all])
    }

    @Test func theFingerprintHoldsWhatATemplateRendersForEachHost() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "{% for h in groups.web %}server {{ h.address }};\n{% endfor %}".write(toFile: directory + "/upstreams.tpl", atomically: true, encoding: .utf8)
        let text = "name: lb\nhosts: database\ndeploy:\n  - template: { src: upstreams.tpl, dest: /etc/upstreams.conf }\n    rollback: none\n"
        let before = try plan(text)
        // The same playbook with a third web host in the inventory: the rendering, and so the plan, changes.
        let inventory = directory + "/inventory.yml"
        let grown = try String(contentsOfFile: inventory, encoding: .utf8).replacingOccurrences(
            of: "web2: { address: 10.0.0.2 }", with: "web2: { address: 10.0.0.2 }, web3: { address: 10.0.0.3 }")
        let path = directory + "/grown.yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try grown.write(toFile: directory + "/grown-inventory.yml", atomically: true, encoding: .utf8)
        let after = ResolvedPlan(try Validator().validate(try Playbook.load(file: path).0, try Inventory.load(file: directory + "/grown-inventory.yml").0))
        #expect(before.fingerprint != after.fingerprint)
        let line = try #require(before.entries.first { $0.key == "file deploy[0] @db1" })
        #expect(line.value.hasPrefix("rendered sha256 "))
        #expect(after.changes(from: before).contains { $0.hasPrefix("file deploy[0]") }, "\(after.changes(from: before))")
    }
}
