import Foundation
import GoliveTestSupport
import Testing

/// The README's tour runs as written (against a sandbox of the test's own): every `$golive` line
/// exits as the README says.
@Suite(.serialized) struct ReadmeCommandsTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4, tiers: true, login: LiveHosts.productionLogin) }

    /// The lines of the README's tour block that run golive.
    func tourLines() throws -> [String] {
        let readme = try String(contentsOfFile: golive.root + "/README.md", encoding: .utf8)
        let tour = try #require(readme.range(of: "## A 5-minute tour"))
        let block = readme[tour.upperBound...].components(separatedBy: "```sh\n").dropFirst().first?.components(separatedBy: "```").first ?? ""
        return block.split(separator: "\n").map(String.init).filter { $0.hasPrefix("$golive ") }
    }

    @Test func theTourRunsAsWritten() throws {
        let lines = try tourLines()
        #expect(lines.count >= 8)
        let environment = ["GOLIVE_STORE": live.directory + "/tour.sqlite"]
        for line in lines {
            let command = line.split(separator: "#", maxSplits: 1).first.map(String.init) ?? line
            var arguments = command.split(separator: " ").dropFirst().map(String.init)
            if arguments.first == "sandbox" { continue }  // the test's own sandbox is up already
            arguments = arguments.map { $0 == "inventories/sandbox.yml" ? live.inventoryPath : $0 }
            arguments = arguments.map { $0.hasPrefix("playbooks/") ? golive.root + "/" + $0 : $0 }
            arguments = arguments.map { ["timeline.html", "plan.html", "report.md"].contains($0) ? live.directory + "/" + $0 : $0 }
            let (status, output) = try golive.run(arguments, environment: environment)
            let expected: Int32 = line.contains("healthy=false") ? 1 : 0
            #expect(status == expected, "\(line)\n\(output.suffix(800))")
        }
        #expect(FileManager.default.fileExists(atPath: live.directory + "/timeline.html"))
    }
}
