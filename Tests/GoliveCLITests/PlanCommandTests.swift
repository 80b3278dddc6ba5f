import Foundation
import GoliveTestSupport
import System
import Testing

/// `golive plan --format md|html`: the go-live plan document for sign-off, and its fingerprint,
/// which `run --expect-plan` holds the run to.
@Suite(.serialized) struct PlanCommandTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    /// A Markdown document read back: the facts table, and per `## ` section its paragraphs and table rows.
    struct Markdown {
        var facts: [String: String] = [:]
        var paragraphs: [String: [String]] = [:]
        var tables: [String: [[String: String]]] = [:]
        var sections: [String] = []

        init(_ text: String) {
            var section = ""
            var header: [String]?
            func cells(_ line: String) -> [String] {
                // Split on unescaped pipes, then unescape.
                var result: [String] = [], current = "", previous: Character = " "
                for character in line.dropFirst().dropLast() {
                    if character == "|" && previous != "\\" {
                        result.append(current)
                        current = ""
                    } else {
                        current.append(character)
                    }
                    previous = character
                }
                result.append(current)
                return result.map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\\|", with: "|") }
            }
            for line in text.components(separatedBy: "\n") {
                if line.hasPrefix("## ") {
                    section = String(line.dropFirst(3))
                    sections.append(section)
                    header = nil
                } else if line.hasPrefix("|") {
                    let row = cells(line)
                    if row.allSatisfy({ $0.allSatisfy { $0 == "-" } }) { continue }
                    if section.isEmpty {
                        if row.count == 2 && !row[0].isEmpty { facts[row[0]] = row[1] }
                    } else if let names = header {
                        tables[section, default: []].append(Dictionary(uniqueKeysWithValues: zip(names, row).map { ($0, $1) }))
                    } else {
                        header = row
                    }
                } else {
                    header = nil
                    if !line.isEmpty && !section.isEmpty { paragraphs[section, default: []].append(line) }
                }
            }
        }
    }

    /// The example web playbook with a window and sign-off metadata, beside its files.
    func windowedPlaybook() throws -> String {
        var text = try String(contentsOfFile: golive.root + "/playbooks/webapp.yml", encoding: .utf8)
        text = text.replacingOccurrences(
            of: "serial: 2 ",
            with: """
                change_id: CHG-7
                owner: web team
                contacts: [ "ana +1 555 0101", "bo +1 555 0102" ]
                description: Release 2.0.0 of the web app.
                window: { start: "2030-01-10T22:00:00Z", end: "2030-01-11T02:00:00Z", rollback_reserve: 45m, downtime: 5m }
                serial: 2 
                """)
        // `files/` is relative to the playbook: write the copy beside the original.
        let path = golive.root + "/playbooks/.plan-test-\(UInt32.random(in: 0...UInt32.max)).yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theMarkdownPlanHoldsEveryStepRollbackWindowLineAndTheFingerprint() throws {
        let playbook = try windowedPlaybook()
        defer { try? FileManager.default.removeItem(atPath: playbook) }
        let environment = ["GOLIVE_STORE": live.directory + "/plan.sqlite"]
        let rehearsal = try golive.run(["rehearse", playbook, "-i", live.inventoryPath, "--rollback-after", "--json"], environment: environment)
        #expect(rehearsal.status == 0, "\(rehearsal.output.suffix(600))")
        let json = try golive.run(["plan", playbook, "-i", live.inventoryPath, "--json"], environment: environment)
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let fingerprint = try #require(plan["fingerprint"] as? String)
        #expect(fingerprint.count == 12 && fingerprint.allSatisfy(\.isHexDigit))
        let output = live.directory + "/plan.md"
        let written = try golive.run(["plan", playbook, "-i", live.inventoryPath, "--format", "md", "-o", output], environment: environment)
        #expect(written.status == 0, "\(written.output)")
        let document = Markdown(try String(contentsOfFile: output, encoding: .utf8))

        #expect(document.facts["Plan fingerprint"]?.hasPrefix(fingerprint) == true)
        #expect(document.facts["Change"] == "CHG-7" && document.facts["Owner"] == "web team")
        #expect(document.facts["Contacts"] == "ana +1 555 0101; bo +1 555 0102")
        #expect(document.sections.prefix(3) == ["Description", "Window", "Hosts and batches"])
        // Window lines.
        let window = Dictionary(uniqueKeysWithValues: (document.tables["Window"] ?? []).map { ($0[""] ?? "", $0["Time"] ?? "") })
        #expect(window["Window opens"] == "2030-01-10T22:00:00Z")
        #expect(window["Window closes"] == "2030-01-11T02:00:00Z")
        #expect(window["Rollback reserve"] == "45m")
        #expect(window["Announced downtime"] == "5m")
        #expect(window.keys.contains { $0.hasPrefix("Rollback point") })
        #expect(window.keys.contains { $0.hasPrefix("Expected run") })
        // Batches as planned.
        let batches = try #require(plan["batches"] as? [[String]])
        #expect((document.tables["Hosts and batches"] ?? []).map { $0["Hosts"] ?? "" } == batches.map { $0.joined(separator: ", ") })

        // Every host's every step, resolved as `plan --json` resolves it, in its batch's table, with its rollback.
        let hosts = try #require(plan["hosts"] as? [[String: Any]])
        let deployRows = document.tables["Deployment steps"] ?? []
        let batchCount = batches.count
        #expect(deployRows.count >= batchCount * 5)
        for host in hosts {
            let name = try #require(host["name"] as? String)
            for (section, key) in [("Pre-checks", "prechecks"), ("Backups", "backup"), ("Deployment steps", "deploy")] {
                let steps = try #require(host[key] as? [[String: Any]])
                for step in steps {
                    let action = try #require(step["action"] as? String)
                    let column = section == "Backups" ? "What → where" : "Resolved command"
                    let row = (document.tables[section] ?? []).first { $0[column] == action && ($0["Hosts"] ?? "").contains(name) }
                    #expect(row != nil, "\(section): \(name) \(action) missing")
                    if section == "Deployment steps", let rollback = step["rollback"] as? String {
                        #expect(row?["Rollback"] == rollback, "\(name): rollback of \(step["name"] ?? "") missing")
                    }
                }
            }
        }
        // The rollback plan: each undoable step in reverse order, then the playbook's rollback, then verification.
        let rollback = (document.tables["Rollback plan"] ?? []).map { $0["Action"] ?? "" }
        let undone = rollback.filter { $0.hasPrefix("undo ") }
        #expect(undone.first == "undo switch current" && undone.last == "undo snapshot the releases", "\(rollback)")
        #expect(rollback.contains { $0.hasPrefix("verify: ") })
        #expect((document.tables["Rollback plan"] ?? []).map { Int($0["Order"] ?? "") ?? 0 } == Array(1...rollback.count))
        // Health criteria, expected durations from the rehearsal, sign-off.
        #expect((document.tables["Health criteria"] ?? []).contains { ($0["Resolved"] ?? "").hasPrefix("GET http://") })
        let durations = Dictionary(uniqueKeysWithValues: (document.tables["Expected durations"] ?? []).map { ($0["Phase"] ?? "", $0) })
        #expect(durations["deploy"]?["Rehearsals"] == "1" && durations["rollback"] != nil && durations["whole run"] != nil)
        let rehearsalID = try #require(GoliveBinary.runID(in: rehearsal.output))
        #expect(document.paragraphs["Expected durations"]?.contains { $0.contains(rehearsalID) } == true)
        #expect((document.tables["Sign-off"] ?? []).map { $0["Role"] ?? "" } == ["Change owner", "Contact", "Contact", "Operations lead", "Approver"])
        #expect(document.paragraphs["Sign-off"]?.first?.contains(fingerprint) == true)
    }

    @Test func secretsShowAsDotsInThePlan() throws {
        let inventory = live.directory + "/secret-inventory.yml"
        let text = try String(contentsOfFile: live.inventoryPath, encoding: .utf8) + "secrets:\n  api_token: { env: GOLIVE_TEST_TOKEN }\n"
        try text.write(toFile: inventory, atomically: true, encoding: .utf8)
        let playbook = try live.write("name: secret\nhosts: web\ndeploy:\n  - name: call\n    shell: curl -H token={{ api_token }} localhost\n", name: "secret.yml")
        let environment = ["GOLIVE_STORE": live.directory + "/secret.sqlite", "GOLIVE_TEST_TOKEN": "s3cr3t-value-42"]
        for format in ["md", "html"] {
            let result = try golive.run(["plan", playbook, "-i", inventory, "--format", format], environment: environment)
            #expect(result.status == 0, "\(result.output)")
            #expect(!result.output.contains("s3cr3t-value-42"))
            #expect(result.output.contains("••••"))
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/chromium"), "needs chromium (Debian package)"))
    func theHTMLPlanPrintsToSeveralPDFPages() throws {
        // A large playbook: 80 deploy steps, each with a rollback.
        var text = "name: large\nhosts: web\nserial: 1\nowner: ops\nprechecks:\n  - shell: test -d {{ app_dir }}\ndeploy:\n"
        for index in 1...80 {
            text += "  - name: step \(index)\n    shell: echo step \(index) > {{ app_dir }}/step-\(index)\n    rollback: rm -f {{ app_dir }}/step-\(index)\n"
        }
        let playbook = try live.write(text, name: "large.yml")
        let html = live.directory + "/plan.html"
        let written = try golive.run(
            ["plan", playbook, "-i", live.inventoryPath, "--format", "html", "-o", html], environment: ["GOLIVE_STORE": live.directory + "/large.sqlite"])
        #expect(written.status == 0, "\(written.output)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(!page.contains("<script") && !page.contains("<link"), "the page must be self-contained")
        #expect(page.contains("@page { size: A4"))
        let pdf = live.directory + "/plan.pdf"
        let chromium = [
            "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(live.directory)/chrome", "--no-pdf-header-footer",
            "--print-to-pdf=\(pdf)", "file://\(html)",
        ]
        let printed = try ChildProcess.run("/usr/bin/chromium", chromium)
        #expect(printed.status == 0, "\(printed.output.suffix(500))")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pdf))
        #expect(bytes.starts(with: Array("%PDF".utf8)))
        let raw = String(decoding: bytes, as: UTF8.self)
        let pages = raw.matches(of: try Regex("/Type\\s*/Page[^s]")).count
        #expect(pages > 1, "\(pages) page(s)")
    }

    @Test func expectPlanAcceptsTheSamePlanAndRefusesAChangedVariableNamingIt() throws {
        let playbook = golive.root + "/playbooks/webapp.yml"
        let environment = ["GOLIVE_STORE": live.directory + "/expect.sqlite"]
        let written = try golive.run(["plan", playbook, "-i", live.inventoryPath, "--format", "md", "-o", live.directory + "/p.md"], environment: environment)
        let fingerprint = try #require(written.output.firstMatch(of: try Regex("fingerprint ([0-9a-f]{12})"))?.output[1].substring.map(String.init))

        let changed = try golive.run(
            ["run", playbook, "-i", live.inventoryPath, "--yes", "--expect-plan", fingerprint, "-e", "version=3.0.0"], environment: environment)
        #expect(changed.status == 3)
        #expect(changed.output.contains("variable version: \"2.0.0\" → \"3.0.0\" (web1, web2, web3, web4)"), "\(changed.output)")
        #expect(changed.output.contains("nothing was touched"))
        #expect(live.hosts.allSatisfy { live.current($0.name) == "1.0.0" })

        let same = try golive.run(["run", playbook, "-i", live.inventoryPath, "--yes", "--expect-plan", fingerprint, "--json"], environment: environment)
        #expect(same.status == 0, "\(same.output.suffix(600))")
        #expect(live.hosts.allSatisfy { live.current($0.name) == "2.0.0" })
        #expect(same.output.contains("\"plan_fingerprint\":\"\(fingerprint)\""))

        // A plan never recorded: refused too, and said so.
        let unknown = try golive.run(["run", playbook, "-i", live.inventoryPath, "--yes", "--expect-plan", "000000000000"], environment: environment)
        #expect(unknown.status == 3 && unknown.output.contains("is not recorded"))
    }
}
