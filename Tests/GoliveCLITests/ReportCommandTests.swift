import Foundation
import GoliveTestSupport
import Testing

/// `golive report RUN`: the review of a rehearsal that rolled back, against the rehearsal before it.
@Suite(.serialized) struct ReportCommandTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    @Test func theReportOfARolledBackRehearsalShowsPlannedVsActualAndTheRollback() throws {
        let playbook = golive.root + "/playbooks/webapp.yml"
        let environment = ["GOLIVE_STORE": live.directory + "/report.sqlite"]
        let planned = try golive.run(["rehearse", playbook, "-i", live.inventoryPath, "--rollback-after"], environment: environment)
        #expect(planned.status == 0, "\(planned.output.suffix(600))")
        let broken = try golive.run(
            ["rehearse", playbook, "-i", live.inventoryPath, "-e", "version=3.0.0", "-e", "healthy=false", "--json"], environment: environment)
        #expect(broken.status == 1)
        let runID = try #require(GoliveBinary.runID(in: broken.output))

        let output = live.directory + "/report.md"
        #expect(try golive.run(["report", runID, "--format", "md", "-o", output], environment: environment).status == 0)
        let document = PlanCommandTests.Markdown(try String(contentsOfFile: output, encoding: .utf8))
        #expect(document.facts["Run"]?.hasPrefix(runID) == true)
        #expect(document.facts["Outcome"] == "rolled-back (exit 1)")
        // Planned (the rehearsal before) vs actual, per phase: both known for the phases both ran.
        let phases = Dictionary(uniqueKeysWithValues: (document.tables["Planned vs actual, per phase"] ?? []).map { ($0["Phase"] ?? "", $0) })
        for phase in ["precheck", "backup", "deploy", "health", "rollback", "whole run"] {
            let row = try #require(phases[phase], "no \(phase) row")
            #expect(row["Planned"]?.hasSuffix(" s") == true && row["Actual"]?.hasSuffix(" s") == true, "\(phase): \(row)")
            #expect(row["Difference"]?.hasSuffix("%") == true)
        }
        // Per step: the health file was skipped? No: every deploy step of batch 1 ran on two hosts.
        let steps = document.tables["Planned vs actual, per step"] ?? []
        #expect(steps.contains { ($0["Step"] ?? "").hasSuffix("switch current") && $0["Hosts"] == "ok 2" && $0["Planned"] != "—" })
        // The failure and the rollback: both hosts of batch 1, every recorded undo, then done.
        let failures = document.tables["Failures"] ?? []
        #expect(Set(failures.map { $0["Host"] ?? "" }) == ["web1", "web2"])
        #expect(failures.allSatisfy { ($0["Message / output"] ?? "").contains("health") })
        let rollback = document.tables["Rollback"] ?? []
        for host in ["web1", "web2"] {
            #expect(rollback.contains { $0["Host"] == host && $0["Action"] == "switch current" && $0["Status"] == "ok" })
            #expect(rollback.contains { $0["Host"] == host && $0["Action"] == "snapshot the releases" && $0["Status"] == "ok" })
            #expect(rollback.contains { $0["Host"] == host && $0["Action"] == "host done" })
        }
        #expect(!rollback.contains { $0["Host"] == "web3" || $0["Host"] == "web4" })
        #expect(document.paragraphs["Rollback"]?.first?.contains("(rehearsed: ") == true)
        let probes = document.tables["Probe results"] ?? []
        #expect(probes.contains { $0["Host"] == "web1" && $0["Phase"] == "health" && $0["Last"] == "failed" })
        #expect(probes.contains { $0["Host"] == "web1" && $0["Phase"] == "verify" && $0["Last"] == "ok" })
        #expect(document.sections.last == "Timeline")

        // The HTML report embeds the Gantt chart, rollback bars included.
        let html = try golive.run(["report", runID, "--format", "html"], environment: environment)
        #expect(html.status == 0 && html.output.contains("<svg") && html.output.contains("class='bar rollback"))
    }
}
