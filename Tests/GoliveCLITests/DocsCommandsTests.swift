import Foundation
import GoliveTestSupport
import Sandbox
import Testing

/// Every golive command shown in README.md and docs/ works as shown: each is extracted from the
/// Markdown (inline code and code blocks), its placeholders are filled in with this test's sandbox,
/// runs and stores, and it is run; synopsis lines (docs/cli.md) are checked against `--help`.
@Suite(.serialized) struct DocsCommandsTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    /// A command as written in a document.
    struct Shown: CustomStringConvertible {
        var file: String
        var line: Int
        var text: String
        var description: String { "\(file):\(line): \(text)" }
    }

    /// Commands that cannot run without arguments.
    static let needArguments: Set<String> = [
        "validate", "plan", "ping", "check", "run", "rehearse", "resume", "rollback", "unlock", "sandbox",
    ]

    /// The golive commands in README.md and docs/*.md, in document order.
    func shownCommands() throws -> (commands: [Shown], synopsis: [Shown]) {
        let docs = try FileManager.default.contentsOfDirectory(atPath: golive.root + "/docs").filter { $0.hasSuffix(".md") }.sorted()
        var commands: [Shown] = [], synopsis: [Shown] = []
        for file in ["README.md"] + docs.map({ "docs/" + $0 }) {
            let text = try String(contentsOfFile: golive.root + "/" + file, encoding: .utf8)
            var fenced = false, shell = false
            for (index, line) in text.components(separatedBy: "\n").enumerated() {
                if line.hasPrefix("```") {
                    fenced.toggle()
                    shell = fenced && line.hasPrefix("```sh")
                    continue
                }
                if fenced {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    // The README's tour block runs in ReadmeCommandsTests; in ```sh blocks elsewhere,
                    // `golive ...` lines are commands too.
                    if (trimmed.hasPrefix("$golive ") || (shell && trimmed.hasPrefix("golive "))) && file != "README.md" {
                        let command = trimmed.drop { $0 == "$" }.split(separator: "#", maxSplits: 1)[0]
                        commands.append(Shown(file: file, line: index + 1, text: command.trimmingCharacters(in: .whitespaces)))
                    } else if trimmed.hasPrefix("golive ") && file == "docs/cli.md" {
                        synopsis.append(Shown(file: file, line: index + 1, text: trimmed))
                    }
                    continue
                }
                // Inline code: `golive ...`. A bare command name that needs arguments is a mention
                // (`golive run` does ...); one with `[optional]` parts is a synopsis.
                let spans = line.components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
                for span in spans where span.hasPrefix("golive ") {
                    let shown = Shown(file: file, line: index + 1, text: span)
                    let parts = span.split(separator: " ")
                    if span.contains("[") || span.contains("|") {
                        synopsis.append(shown)
                    } else if parts.count > 2 || !Self.needArguments.contains(String(parts[1])) {
                        commands.append(shown)
                    }
                }
            }
        }
        return (commands, synopsis)
    }

    /// Splits a shell-like command line (double quotes group words).
    func words(_ text: String) -> [String] {
        var result: [String] = [], current = "", quoted = false, started = false
        for character in text {
            if character == "\"" {
                quoted.toggle()
                started = true
            } else if character == " " && !quoted {
                if started { result.append(current) }
                current = ""
                started = false
            } else {
                current.append(character)
                started = true
            }
        }
        if started { result.append(current) }
        return result
    }

    /// The id of the run a `--json` run printed.
    func runID(_ output: String) throws -> String { try #require(GoliveBinary.runID(in: output), "\(output.suffix(500))") }

    @Test func everyShownCommandRuns() throws {
        let (commands, _) = try shownCommands()
        #expect(commands.count >= 30, "only \(commands.count) commands found")
        let store = live.directory + "/docs.sqlite"
        let environment = ["GOLIVE_STORE": store]
        let playbook = golive.root + "/playbooks/webapp.yml"
        // A run whose controller died, for each `resume RUN` shown (the fault hook kills it mid-run).
        func killedRun() throws -> String {
            let killed = try golive.run(
                ["run", playbook, "-i", live.inventoryPath, "--json"],
                environment: environment.merging(["GOLIVE_FAULT_KILL_AFTER_EVENTS": "20"]) { $1 })
            #expect(killed.status == 137, "\(killed.output.suffix(500))")
            return try runID(killed.output)
        }
        let first = try golive.run(["rehearse", playbook, "-i", live.inventoryPath, "--json", "--rollback-after"], environment: environment)
        #expect(first.status == 0, "\(first.output.suffix(800))")
        var lastRun = try runID(first.output)
        let scratch = live.directory + "/docs-sandbox"
        var ran = 0
        for shown in commands {
            var arguments = words(shown.text).dropFirst().map { word -> String in
                switch word {
                case "PLAYBOOK", "playbooks/app.yml", "playbooks/webapp.yml": playbook
                case "INVENTORY", "INV", "inventories/staging.yml", "inventories/production.yml", "inventories/sandbox.yml": live.inventoryPath
                case "ENV", "ENVIRONMENT", "production", "staging": "sandbox"
                case "FILE", "run.html", "timeline.html", "plan.html", "plan.md", "report.md", "report.html": live.directory + "/out-" + word
                default: word
                }
            }
            let expected: Int32 = arguments.contains("healthy=false") ? 1 : 0
            if arguments.first == "sandbox" {
                // A sandbox of its own, beside the test's hosts.
                arguments += ["--directory", scratch]
                if arguments[1] == "up" { arguments += ["--hosts", "2", "--inventory", scratch + "/inventory.yml"] }
                // Partitions need namespaces (root); elsewhere those lines cannot run.
                if ["partition", "heal"].contains(arguments[1]) && !SandboxNetwork.isAvailable {
                    ran += 1
                    continue
                }
            }
            if arguments.first == "resume" {
                lastRun = try killedRun()
                if !arguments.contains("--rollback") { arguments.append("--yes") }
            }
            if let flag = arguments.firstIndex(of: "--expect-plan"), flag + 1 < arguments.count {
                // The fingerprint shown is an example: use the plan's own.
                let plan = try golive.run(["plan", playbook, "-i", live.inventoryPath, "--json"], environment: environment)
                let document = try #require(try JSONSerialization.jsonObject(with: Data(plan.output.utf8)) as? [String: Any])
                arguments[flag + 1] = try #require(document["fingerprint"] as? String)
            }
            if arguments.contains("RUN") {
                arguments = arguments.map { $0 == "RUN" ? lastRun : $0 }
            }
            if ["run", "rehearse"].contains(arguments.first) {
                arguments.append("--json")
                if arguments.first == "run" { arguments.append("--yes") }
            }
            let (status, output) = try golive.run(arguments, environment: environment)
            #expect(status == expected, "\(shown)\n\(arguments.joined(separator: " "))\n\(output.suffix(800))")
            if ["run", "rehearse"].contains(arguments.first), let id = try? runID(output) { lastRun = id }
            ran += 1
        }
        #expect(ran == commands.count)
        Sandbox(directory: scratch).down()
    }

    @Test func everySynopsisMatchesHelp() throws {
        let (_, synopsis) = try shownCommands()
        #expect(synopsis.count >= 12)
        for shown in synopsis {
            let parts = words(shown.text)
            let command = parts[1]
            // `sandbox up [...] | down | status`: each alternative is a subcommand.
            var groups: [[String]] = [[command]]
            if command == "sandbox" {
                groups = shown.text.components(separatedBy: "sandbox").last!.components(separatedBy: " | ").map {
                    let words = words($0)
                    return ["sandbox", words.first ?? ""] + words.dropFirst()
                }
            } else {
                groups = [[command] + parts.dropFirst(2)]
            }
            for group in groups {
                let path = group.prefix(["sandbox", "notify"].contains(command) ? 2 : 1).map { $0 }
                let help = try golive.run(path + ["--help"])
                #expect(help.status == 0, "\(shown): \(path.joined(separator: " ")) --help failed")
                let flags = group.joined(separator: " ").split(whereSeparator: { " []|".contains($0) })
                    .filter { $0.hasPrefix("-") }.map(String.init)
                for flag in flags {
                    #expect(help.output.contains(flag), "\(shown): `golive \(path.joined(separator: " "))` has no \(flag)")
                }
            }
        }
    }
}
