import Foundation
import GoliveTestSupport
import System
import Testing

/// A go-live across tiers through the commands users type: the plan document, a rehearsal, the
/// report, the HTML timeline and `watch` show its plays. Real sshd hosts, the real binary.
@Suite(.serialized) struct PlaysCommandTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    var store: String { live.directory + "/store.sqlite" }
    var tiers: String { golive.root + "/playbooks/tiers.yml" }

    init() throws { live = try LiveHosts(count: 4, tiers: true) }

    @Test func thePlansRehearsalReportAndTimelineShowThePlays() throws {
        let text = try golive.run(["plan", tiers, "-i", live.inventoryPath, "--store", store])
        #expect(text.status == 0, "\(text.output)")
        #expect(text.output.contains("plays, in order (a failure rolls them back in reverse): migrate (migrate the database) on db1; web"))
        #expect(text.output.contains("Play migrate (migrate the database): Host db1"))
        #expect(text.output.contains("(on lb1) "))
        let plan = live.directory + "/plan.md"
        #expect(try golive.run(["plan", tiers, "-i", live.inventoryPath, "--store", store, "--format", "md", "-o", plan]).status == 0)
        let document = try String(contentsOfFile: plan, encoding: .utf8)
        for heading in [
            "## Play migrate (migrate the database): Hosts and batches", "## Play web (roll the web hosts behind the load balancer): Deployment steps",
            "## Rollback plan", "## Not undone by rollback",
        ] {
            #expect(document.contains(heading), "\(heading)")
        }
        #expect(document.contains("The plays are rolled back in reverse order, the last play first."))
        #expect(document.contains("golive, on lb1, for each host (1 at a time)"))
        // An earlier play's result is shown as what it is, not as a value.
        #expect(document.contains("<plays.migrate.db1.schema_before.stdout>"))
        // The rollback plan in the order it runs: web batch 2 (web3, web4) first, its verification
        // before batch 1, the migration last.
        let order = document.components(separatedBy: "\n").filter { $0.hasPrefix("| ") && $0.contains(" of ") && ($0.contains("undo ") || $0.contains("verify: ")) }
        let batches = order.compactMap { line in line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.dropFirst(1).first }
        #expect(batches.first == "web 1 of 2" && batches.last == "migrate 1 of 1", "\(batches)")
        let lastFirstBatchVerify = try #require(order.lastIndex { $0.contains("web 1 of 2") && $0.contains("verify: GET http://") })
        let firstSecondBatch = try #require(order.firstIndex { $0.contains("web 2 of 2") })
        #expect(lastFirstBatchVerify < firstSecondBatch)

        let rehearsal = try golive.run(["rehearse", tiers, "-i", live.inventoryPath, "--store", store, "--rollback-after", "--json"])
        #expect(rehearsal.status == 0, "\(rehearsal.output.suffix(1500))")
        let id = try #require(GoliveBinary.runID(in: rehearsal.output))
        // Everything is back: the schema, the releases, the balancer's backends.
        #expect(try String(contentsOfFile: try #require(live.host("db1")).appDirectory + "/schema/version", encoding: .utf8) == "41_initial\n")
        #expect(live.hosts.filter { $0.name.hasPrefix("web") }.allSatisfy { live.current($0.name) == "1.0.0" })
        let backends = try String(contentsOfFile: try #require(live.host("lb1")).root + "/etc/lb/backends", encoding: .utf8)
        #expect(Set(backends.split(separator: "\n")) == ["web1", "web2", "web3", "web4"])

        let report = live.directory + "/report.md"
        #expect(try golive.run(["report", id, "--store", store, "--format", "md", "-o", report]).status == 0)
        let reported = try String(contentsOfFile: report, encoding: .utf8)
        #expect(reported.contains("| Plays | migrate (batch 1), then web (batch 2, 3) |"), "\(reported.prefix(1500))")
        #expect(reported.contains("play web, rollback batch 1 of 2: web3, web4"))
        // The templates inside the archived releases are undone by its restore: nothing is reported not undone.
        #expect(!reported.contains("Started steps that nothing undid"))
        let html = live.directory + "/timeline.html"
        #expect(try golive.run(["timeline", id, "--store", store, "--format", "html", "-o", html]).status == 0)
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains("play migrate: batch 1 → play web: batch 2, 3"))
        // The plan after the rehearsal predicts the run from it.
        let predicted = try golive.run(["plan", tiers, "-i", live.inventoryPath, "--store", store])
        #expect(predicted.output.contains("prediction: "), "\(predicted.output.prefix(600))")
        let watch = try golive.run(["watch", id, "--store", store, "--once", "--no-color"])
        #expect(watch.status == 0 && watch.output.contains("db1") && watch.output.contains("web4"), "\(watch.output)")
    }
}
