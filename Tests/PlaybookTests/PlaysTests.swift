import Foundation
import Playbook
import Testing

/// Playbooks with several plays, delegated steps and undo coverage, checked against an inventory.
struct PlaysTests {
    let directory: String
    let inventory: Inventory

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("plays-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = """
            environment: test
            groups:
              web:
                hosts:
                  web1: { address: 10.0.0.1 }
                  web2: { address: 10.0.0.2 }
                vars: { app_dir: /srv/app }
              database:
                hosts:
                  db1: { address: 10.0.0.9 }
                vars: { app_dir: /srv/db }
              lb:
                hosts:
                  lb1: { address: 10.0.0.5 }
            """
        try text.write(toFile: directory + "/inventory.yml", atomically: true, encoding: .utf8)
        inventory = try Inventory.load(file: directory + "/inventory.yml").0
    }

    func validate(_ text: String) throws(ValidationFailure) -> ValidatedPlaybook {
        let path = directory + "/play-\(UUID().uuidString).yml"
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
        let (playbook, _) = try Playbook.load(file: path)
        return try Validator().validate(playbook, inventory)
    }

    func errors(_ text: String) -> [String] {
        do {
            _ = try validate(text)
            return []
        } catch {
            return error.diagnostics.filter { $0.severity == .error }.map(\.description)
        }
    }

    static let twoPlays = """
        name: tiers
        plays:
          - id: migrate
            name: migrate the database
            hosts: database
            deploy:
              - name: version
                shell: cat {{ app_dir }}/version
                register: version
                rollback: none
          - id: web
            name: roll the web hosts
            hosts: web
            serial: 1
            deploy:
              - name: note
                shell: echo {{ plays.migrate.db1.version.stdout }} > {{ app_dir }}/schema
                delegate_to: lb1
                rollback: rm -f {{ app_dir }}/schema
        """

    @Test func playsGetTheirHostsAndStepIdsNameTheirPlay() throws {
        let play = try validate(Self.twoPlays)
        #expect(play.plays.map(\.hostNames) == [["db1"], ["web1", "web2"]])
        #expect(play.hosts.map(\.name) == ["web1", "web2", "db1"])
        #expect(play.delegates.map(\.name) == ["lb1"])
        #expect(play.playbook.allSteps.map(\.id) == ["migrate.deploy[0]", "web.deploy[0]"])
        #expect(play.playbook.plays[1].deploy[0].delegate == .host("lb1"))
        // The single-play form is one play with no id: its step ids do not change.
        let single = try validate("name: one\nhosts: web\ndeploy:\n  - shell: \"true\"\n    rollback: none\n")
        #expect(single.playbook.allSteps.map(\.id) == ["deploy[0]"] && !single.playbook.hasPlayList)
    }

    @Test func aLaterPlayReadsOnlyEarlierPlaysResultsOfHostsThatRanThem() throws {
        // A play's own results are under their names; an earlier play's under plays.ID.HOST.
        let later = Self.twoPlays.replacingOccurrences(of: "plays.migrate.db1", with: "plays.web.web1")
        #expect(errors(later).contains { $0.contains("plays.web") }, "\(errors(later))")
        let wrongHost = Self.twoPlays.replacingOccurrences(of: "plays.migrate.db1", with: "plays.migrate.web1")
        #expect(errors(wrongHost).contains { $0.contains("plays.migrate.web1") }, "\(errors(wrongHost))")
        let wrongName = Self.twoPlays.replacingOccurrences(of: "db1.version", with: "db1.nothing")
        #expect(errors(wrongName).contains { $0.contains("nothing") }, "\(errors(wrongName))")
    }

    @Test func aDelegateMustBeAnInventoryHost() throws {
        let text = Self.twoPlays.replacingOccurrences(of: "delegate_to: lb1", with: "delegate_to: lb9")
        let found = errors(text)
        #expect(found.contains { $0.contains("delegate_to 'lb9' is not an inventory host") && $0.contains(":18:") }, "\(found)")
    }

    @Test func stepsThatNothingUndoesAreWarnedAboutWithTheirPlace() throws {
        let text = """
            name: coverage
            hosts: web
            backup:
              - archive: { path: "{{ app_dir }}/config", to: /srv/backups/config.tgz }
            deploy:
              - name: covered by the archive
                template: { src: app.conf, dest: "{{ app_dir }}/config/app.conf" }
              - name: outside the archive
                template: { src: app.conf, dest: /etc/app.conf }
              - name: a command
                shell: systemctl restart app
              - name: said on purpose
                shell: systemctl reload app
                rollback: none
              - name: undone by the restore
                shell: touch {{ app_dir }}/config/marker
                rollback: backup
              - name: a check
                http: { url: "http://{{ host.address }}/" }
            """
        try "x = 1\n".write(toFile: directory + "/app.conf", atomically: true, encoding: .utf8)
        let play = try validate(text)
        let warned = play.warnings.filter { $0.description.contains("nothing undoes it") }
        #expect(warned.map(\.keyPath) == ["deploy[1]", "deploy[2]"], "\(warned)")
        #expect(warned.map(\.location.line) == [8, 10])
        #expect(UndoCoverage.uncovered(in: play.plays[0]).map(\.step.name) == ["outside the archive", "a command"])
    }

    @Test func preChecksCannotReadAnyPlaysResults() throws {
        let text = Self.twoPlays.replacingOccurrences(
            of: "    serial: 1\n", with: "    serial: 1\n    prechecks:\n      - shell: test {{ plays.migrate.db1.version.rc }} = 0\n")
        let found = errors(text)
        #expect(found.contains { $0.contains("plays.migrate") && $0.contains("pre-checks run before any play changes anything") }, "\(found)")
        let later = Self.twoPlays.replacingOccurrences(of: "plays.migrate.db1", with: "plays.web.web1")
        #expect(errors(later).contains { $0.contains("play web runs now") }, "\(errors(later))")
    }

    @Test func twoBackupsIntoOneFileOnAHostAreRefused() throws {
        let text = """
            name: two backups
            plays:
              - id: a
                name: first
                hosts: web
                backup: [ { archive: { path: /srv/app/releases, to: "/srv/backups/releases-{{ run.id }}.tgz" } } ]
                deploy: [ { shell: "true", rollback: none } ]
              - id: b
                name: second
                hosts: web
                backup: [ { archive: { path: /srv/app/releases, to: "/srv/backups/releases-{{ run.id }}.tgz" } } ]
                deploy: [ { shell: "true", rollback: none } ]
            """
        let found = errors(text)
        #expect(found.contains { $0.contains(":11:") && $0.contains("is also written by") && $0.contains("(line 6)") }, "\(found)")
    }

    @Test func anUndefinedNameInABranchNotTakenIsRefusedWhereItIs() throws {
        let text = """
            name: branches
            hosts: web
            deploy:
              - shell: echo {% if host.name == 'nobody' %}{{ not_defined }}{% endif %}{% for h in groups.web %}{{ h.address }} {% endfor %}
                rollback: none
            """
        let found = errors(text)
        #expect(found.contains { $0.contains(":4:50:") && $0.contains("not_defined") }, "\(found)")
        let fine = try validate(text.replacingOccurrences(of: "{{ not_defined }}", with: "{{ hosts.db1.address }}"))
        #expect(fine.warnings.filter { $0.severity == .error }.isEmpty)
    }

    @Test func pathsBuiltByBlocksAreCheckedAsRendered() throws {
        let climb = """
            name: climb
            hosts: web
            deploy:
              - upload: { src: app.conf, dest: "/srv/{% for h in groups.database %}..{% endfor %}/x" }
                rollback: none
            """
        try "x = 1\n".write(toFile: directory + "/app.conf", atomically: true, encoding: .utf8)
        #expect(errors(climb).contains { $0.contains("climbs out with '..'") }, "\(errors(climb))")
        let missing = """
            name: missing
            hosts: web
            deploy:
              - template: { src: "files/{% if true %}nonexist{% endif %}.conf", dest: /srv/x.conf }
                rollback: none
            """
        #expect(errors(missing).contains { $0.contains("does not exist") }, "\(errors(missing))")
    }
}
