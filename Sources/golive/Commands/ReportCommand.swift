import ArgumentParser
import Console
import Engine
import Foundation
import Store

/// `golive report [RUN] --format md|html [-o FILE]`: the post-go-live review of a run or rehearsal.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the review of a run or rehearsal: planned vs actual, failures, rollback, gates, probes, chart.")

    enum Format: String, ExpressibleByArgument { case md, html }

    @Argument(help: "The run id (or a unique prefix); default: the newest run.") var run: String?
    @OptionGroup var storeOptions: StoreOptions
    @Option(name: .long, help: "md (Markdown) or html (printable page).") var format: Format = .md
    @Option(name: [.customShort("o"), .long], help: "Write to this file instead of stdout.") var output: String?

    func run() async throws {
        let store = try await storeOptions.open()
        let record = try await storeOptions.run(store, run)
        // The plan it is compared with: the rehearsals of the same playbook before it.
        let rehearsals = try await store.rehearsals(playbookFile: record.playbookFile, limit: 5, before: record.started)
            .filter { $0.0.id != record.id }
            .map { (run: $0.0, timings: PhaseTimings(events: $0.1)) }
        let report = RunReport(run: record, events: try await store.events(runID: record.id), rehearsals: rehearsals)
        try StoreOptions.deliver(Data((format == .md ? report.markdown() : report.html()).utf8), to: output, text: true)
    }
}
