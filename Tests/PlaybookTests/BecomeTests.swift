import Foundation
import Playbook
import Testing

/// `become` at every level (inventory defaults, group, host, playbook, play, step), the nearer one
/// winning; what cannot work refused at validate with where and why.
struct BecomeTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("become-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    static let inventory = """
        environment: test
        defaults:
          user: alice
          become_password: { secret: sudo_pw }
        groups:
          web:
            become: true
            become_user: www
            hosts:
              web1: { address: 10.0.0.1 }
              web2: { address: 10.0.0.2, become_user: deploy, become_method: sudo }
          db:
            hosts:
              db1: { address: 10.0.0.9, user: root, become_method: su }
          bsd:
            hosts:
              bsd1: { address: 10.0.0.7, become_method: doas }
        secrets:
          sudo_pw: { env: TEST_SUDO_PW }
        """

    func write(_ text: String, _ name: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func validate(_ playbook: String, inventory: String = Self.inventory) throws -> ValidatedPlaybook {
        let (book, _) = try Playbook.load(file: try write(playbook, "play-\(UUID().uuidString).yml"))
        let (hosts, _) = try Inventory.load(file: try write(inventory, "inventory.yml"), environment: ["TEST_SUDO_PW": "pw-of-alice"])
        return try Validator().validate(book, hosts)
    }

    func errors(_ playbook: String) -> [String] {
        do {
            _ = try validate(playbook)
            return ["no error"]
        } catch let failure as ValidationFailure {
            return failure.diagnostics.filter { $0.severity == .error }.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func theNearerLevelWins() throws {
        let play = try validate(
            """
            name: t
            hosts: web
            deploy:
              - name: as the group says
                shell: "true"
                rollback: none
              - name: as the step says
                shell: "true"
                become_user: root
                rollback: none
              - name: not at all
                shell: "true"
                become: false
                rollback: none
              - name: a probe from the controller
                http: { url: "http://{{ host.address }}/" }
              - name: on the controller
                local: "true"
                rollback: none
            """)
        let steps = play.playbook.plays[0].deploy
        // Group: become as www; the host's own become_user is nearer.
        #expect(play.become(for: steps[0], on: "web1") == Become(user: "www", method: .sudo, passwordSecret: "sudo_pw"))
        #expect(play.become(for: steps[0], on: "web2")?.user == "deploy")
        // The step is nearer than the host.
        #expect(play.become(for: steps[1], on: "web2")?.user == "root")
        #expect(play.become(for: steps[2], on: "web1") == nil)
        // Nothing to escalate: a probe from the controller, a step on the controller.
        #expect(play.become(for: steps[3], on: "web1") == nil)
        #expect(play.become(for: steps[4], on: "web1") == nil)
    }

    @Test func aPlaysAndThePlaybooksBecomeSitBetweenTheStepAndTheInventory() throws {
        let play = try validate(
            """
            name: t
            become: true
            become_user: ops
            plays:
              - id: db
                name: db
                hosts: db
                become_user: postgres
                deploy:
                  - shell: "true"
                    rollback: none
              - id: bsd
                name: bsd
                hosts: bsd
                become_method: sudo
                deploy:
                  - shell: "true"
                    rollback: none
            """)
        let db = play.playbook.plays[0].deploy[0], bsd = play.playbook.plays[1].deploy[0]
        #expect(play.become(for: db, on: "db1") == Become(user: "postgres", method: .su, passwordSecret: "sudo_pw"))
        #expect(play.become(for: bsd, on: "bsd1") == Become(user: "ops", method: .sudo, passwordSecret: "sudo_pw"))
    }

    @Test func whatCannotWorkIsRefusedWithWhereAndWhy() {
        // doas reads a password only from a terminal.
        let doas = errors(
            """
            name: t
            hosts: bsd
            become: true
            deploy:
              - shell: "true"
                rollback: none
            """)
        #expect(doas.contains { $0.contains("doas reads passwords only from a terminal") && $0.contains("bsd1") }, "\(doas)")
        // su from a login that is not root.
        let su = errors(
            """
            name: t
            hosts: web1
            become: true
            become_method: su
            deploy:
              - shell: "true"
                rollback: none
            """)
        #expect(su.contains { $0.contains(":4:16:") && $0.contains("su from a user other than root") && $0.contains("'alice'") }, "\(su)")
        // A step on the controller cannot become.
        let local = errors(
            """
            name: t
            hosts: web
            deploy:
              - local: "true"
                become: true
                rollback: none
            """)
        #expect(local.contains { $0.contains(":5:13:") && $0.contains("does not apply to a step on the controller") }, "\(local)")
        // A bad method and a user that is not a name.
        let bad = errors(
            """
            name: t
            hosts: web
            become_method: sudoo
            become_user: "root; rm -rf /"
            deploy:
              - shell: "true"
                rollback: none
            """)
        #expect(bad.contains { $0.contains(":3:16:") && $0.contains("'sudoo' is not a become method") && $0.contains("did you mean 'sudo'?") }, "\(bad)")
        #expect(bad.contains { $0.contains(":4:14:") && $0.contains("is not a user name") }, "\(bad)")
        // become_password belongs to the login, in the inventory; not in a playbook.
        let password = errors(
            """
            name: t
            hosts: web
            become_password: { secret: sudo_pw }
            deploy:
              - shell: "true"
                rollback: none
            """)
        #expect(password.contains { $0.contains(":3:1:") && $0.contains("become_password") }, "\(password)")
    }

    @Test func anUndeclaredPasswordSecretIsAnInventoryError() throws {
        let path = try write(
            """
            environment: test
            defaults: { become_password: { secret: nope } }
            hosts:
              web1: { address: 10.0.0.1 }
            """, "bad-inventory.yml")
        #expect(throws: ValidationFailure.self) { try Inventory.load(file: path) }
    }

    @Test func uploadsTakeOwnersAndModes() throws {
        let play = try validate(
            """
            name: t
            hosts: web1
            deploy:
              - upload: { src: a, dest: /etc/app/a.conf, owner: www, group: www, mode: "0640" }
                rollback: none
            """)
        guard case .upload(let transfer) = play.playbook.plays[0].deploy[0].action else {
            Issue.record("not an upload")
            return
        }
        #expect(transfer.owner == "www" && transfer.group == "www" && transfer.mode == 0o640)
        #expect(errors(
            """
            name: t
            hosts: web1
            deploy:
              - upload: { src: a, dest: /etc/a, owner: "$(id)" }
                rollback: none
            """).contains { $0.contains("is not a user or group name") })
    }
}
