import Foundation
import GoliveTestSupport
import Testing

/// The docs never point nowhere and never leave an option out: every relative link in README.md
/// and docs/ resolves (file and heading), and every option of every command's `--help` is in
/// docs/cli.md.
@Suite struct DocsCompletenessTests {
    let golive = GoliveBinary()

    var documents: [String] {
        let docs = golive.root + "/docs"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: docs)) ?? []
        return [golive.root + "/README.md"] + names.filter { $0.hasSuffix(".md") }.sorted().map { docs + "/" + $0 }
    }

    /// GitHub's anchor for a heading: lowercased, punctuation dropped, spaces as dashes.
    static func anchor(_ heading: String) -> String {
        String(
            heading.lowercased().compactMap { character -> Character? in
                if character == " " { return "-" }
                if character.isLetter || character.isNumber || character == "-" || character == "_" { return character }
                return nil
            })
    }

    @Test func everyRelativeLinkResolvesToAFileAndAHeading() throws {
        var checked = 0
        for document in documents {
            let text = try String(contentsOfFile: document, encoding: .utf8)
            let base = URL(fileURLWithPath: document).deletingLastPathComponent()
            for match in text.matches(of: /\]\(([^)\s]+)\)/) {
                let target = String(match.1)
                if target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("mailto:") { continue }
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let file = parts[0].isEmpty ? URL(fileURLWithPath: document) : base.appendingPathComponent(parts[0])
                #expect(FileManager.default.fileExists(atPath: file.path), "\(document): link \(target) points nowhere")
                if parts.count == 2, file.pathExtension == "md", let linked = try? String(contentsOfFile: file.path, encoding: .utf8) {
                    let anchors = linked.split(separator: "\n").filter { $0.hasPrefix("#") }.map {
                        Self.anchor($0.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces))
                    }
                    #expect(anchors.contains(parts[1]), "\(document): link \(target) names no heading of \(file.lastPathComponent)")
                }
                checked += 1
            }
        }
        #expect(checked > 20)
    }

    @Test func everyOptionOfEveryCommandIsInTheCommandLineReference() throws {
        let reference = try String(contentsOfFile: golive.root + "/docs/cli.md", encoding: .utf8)
        let top = try golive.run(["--help"]).output
        var commands: [[String]] = []
        var inList = false
        for line in top.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") { inList = true; continue }
            guard inList else { continue }
            let words = line.split(separator: " ")
            if line.hasPrefix("  "), let first = words.first, first.allSatisfy({ $0.isLetter }) { commands.append([String(first)]) }
            if line.isEmpty && !commands.isEmpty { break }
        }
        for sub in ["up", "down", "status", "partition", "heal"] { commands.append(["sandbox", sub]) }
        #expect(commands.count >= 18, "\(commands)")
        for command in commands {
            let help = try golive.run(command + ["--help"]).output
            for match in help.matches(of: /(?:^|\s)(--[a-z][a-z-]+)/) {
                let option = String(match.1)
                if option == "--help" || option == "--version" { continue }
                #expect(reference.contains(option), "`golive \(command.joined(separator: " "))` has \(option), which docs/cli.md does not mention")
            }
        }
    }
}
