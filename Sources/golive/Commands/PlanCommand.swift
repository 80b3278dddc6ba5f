import ArgumentParser
import Console
import Engine
import Foundation
import Playbook
import Store
import System

/// `golive plan PLAYBOOK -i INVENTORY`: the resolved steps per host and batch (text or JSON), or the
/// go-live plan document for sign-off (Markdown or HTML); touches no host.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the batches and each host's resolved steps and rollbacks, or write the go-live plan document; touch no host.")

    enum Format: String, ExpressibleByArgument { case text, json, md, html }

    @Argument(help: "The playbook file.") var playbook: String
    @OptionGroup var input: InputOptions
    @Option(name: .long, help: "text, json, md (Markdown plan for sign-off) or html (printable plan).") var format: Format?
    @Option(name: [.customShort("o"), .long], help: "Write to this file instead of stdout.") var output: String?
    @Option(name: .long, help: "The timeline store holding rehearsals (for the prediction).") var store: String?

    func validate() throws {
        if input.inventory.isEmpty { throw ValidationError("plan needs an inventory: -i INVENTORY") }
        if input.json && format != nil && format != .json { throw ValidationError("--json and --format \(format!.rawValue) disagree") }
    }

    func run() async throws {
        guard let play = try InputLoader.load(playbook: playbook, options: input, requireSecrets: false) else {
            throw ExitStatus.invalidInput.exitCode
        }
        let format = self.format ?? (input.json ? .json : .text)
        var document = PlanDocument(play: play)
        // The values the fingerprint was computed with, so that the signed-off plan can be run as is.
        var words = ["golive", "run", playbook] + input.inventory.flatMap { ["-i", $0] }
        for value in input.vars { words += ["-e", value] }
        if let limit = input.limit { words += ["--limit", limit] }
        words += ["--expect-plan", document.resolved.fingerprint]
        document.runCommand = words.map(ShellQuote.quote).joined(separator: " ")
        let storeURL = try StoreLocation.url(store, besidePlaybook: playbook)
        let documentFormat = format == .md || format == .html
        // The plan is recorded under its fingerprint, so `run --expect-plan` can say what changed.
        if documentFormat || storeURL.exists {
            do {
                let timeline = try await storeURL.open { Terminal.error($0) }
                let rehearsals = try await timeline.rehearsals(playbookFile: playbook, limit: 5)
                if let (_, events) = rehearsals.first {
                    document.prediction = Prediction.from(rehearsal: events, batches: document.batches.count)
                }
                var shown: [(RunRecord, PhaseTimings, [Artifact])] = []
                for (run, events) in rehearsals { shown.append((run, PhaseTimings(events: events), try await timeline.artifacts(runID: run.id))) }
                document.rehearsals = shown
                try await timeline.record(plan: document.resolved, playbookFile: playbook, environment: play.inventory.environment)
            } catch {
                Terminal.error("warning: the timeline store \(storeURL) could not be read or written (\(error)); the plan has no rehearsal timings and is not recorded")
            }
        }
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil) else {
                Terminal.error("error: cannot write \(output)")
                throw ExitStatus.invalidInput.exitCode
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        } else {
            handle = FileHandle.standardOutput
        }
        defer { if output != nil { try? handle.close() } }
        // Text and JSON are streamed host by host: a plan of thousands of hosts never sits in memory whole.
        switch format {
        case .json: try document.writeJSON { handle.write($0) }
        case .text: document.writeText { handle.write(Data($0.utf8)) }
        case .md: handle.write(Data(document.markdown().utf8))
        case .html: handle.write(Data(document.html().utf8))
        }
        if let output { Terminal.error("wrote \(output) (plan fingerprint \(document.resolved.fingerprint))") }
    }
}
