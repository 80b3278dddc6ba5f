import ArgumentParser
import Engine
import Foundation
import Playbook
import Store

/// `golive plan PLAYBOOK -i INVENTORY`: the resolved steps per host and batch; touches nothing.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show the batches and each host's resolved steps and rollbacks; touch nothing.")

    @Argument(help: "The playbook file.") var playbook: String
    @OptionGroup var input: InputOptions
    @Option(name: .long, help: "The timeline store holding rehearsals (for the prediction).") var store: String?

    func validate() throws {
        if input.inventory == nil { throw ValidationError("plan needs an inventory: -i INVENTORY") }
    }

    func run() async throws {
        guard let play = try InputLoader.load(playbook: playbook, options: input, requireSecrets: false) else {
            throw ExitStatus.invalidInput.exitCode
        }
        var document = PlanDocument(play: play)
        let storePath = StoreLocation.resolve(store, besidePlaybook: playbook)
        if FileManager.default.fileExists(atPath: storePath), let timeline = try? TimelineStore(path: storePath),
            let (_, events) = try? timeline.lastRehearsal(playbookFile: playbook)
        {
            document.prediction = Prediction.from(rehearsal: events, batches: document.batches.count)
        }
        // Streamed host by host: a plan of thousands of hosts never sits in memory whole.
        let out = FileHandle.standardOutput
        if input.json {
            try document.writeJSON { out.write($0) }
        } else {
            document.writeText { out.write(Data($0.utf8)) }
        }
    }
}

/// The resolved plan of a validated play, as text or JSON.
struct PlanDocument {
    let play: ValidatedPlay
    let batches: [[String]]
    var prediction: Prediction?

    init(play: ValidatedPlay) {
        self.play = play
        batches = Planner.batches(play.hosts.map(\.name), serial: play.playbook.serial)
    }

    private var run: [String: Value] {
        var run = Validator.placeholderRun
        run["environment"] = .string(play.inventory.environment)
        return run
    }

    private func context(_ host: String) -> TemplateContext {
        var context = play.context(for: host, run: run)
        for step in play.playbook.allSteps {
            guard let name = step.register, case .map(let shape) = Validator.registeredShape else { continue }
            context.variables[name] = .map(Dictionary(uniqueKeysWithValues: shape.keys.map { ($0, Value.string("<\(name).\($0)>")) }))
        }
        return context
    }

    func writeText(_ write: (String) -> Void) {
        let playbook = play.playbook
        var out = "Plan: \(playbook.name)\n"
        out += "  environment \(play.inventory.environment), \(play.hosts.count) host(s) in \(batches.count) batch(es), max_fail \(playbook.maxFail)\n"
        let formatter = ISO8601DateFormatter()
        if let window = playbook.window {
            out += "  window \(formatter.string(from: window.start)) → \(formatter.string(from: window.end)), "
            out += "rollback point \(formatter.string(from: window.rollbackPoint)) (reserve \(DurationSyntax.format(window.rollbackReserve)))\n"
        } else {
            out += "  no window: `run` warns and proceeds\n"
        }
        if let prediction {
            out += "  prediction: \(Int(prediction.run.rounded()))s to run"
            out += prediction.rollback.map { ", \(Int($0.rounded()))s to roll back" } ?? ""
            out += " (rehearsal \(prediction.rehearsalID), \(formatter.string(from: prediction.rehearsed)))"
            if let window = playbook.window {
                let fit = prediction.fit(window, startingAt: Date())
                out += fit.fits ? "; fits the window with \(Int(fit.margin))s to spare" : "; does NOT fit the window (short by \(Int(-fit.margin))s)"
            }
            out += "\n"
        }
        out += "\nBatches:\n"
        for (index, batch) in batches.enumerated() { out += "  \(index + 1). \(batch.joined(separator: ", "))\n" }
        write(out)
        for host in play.hosts {
            out = ""
            let context = context(host.name)
            out += "\nHost \(host.name) (\(host.address)):\n"
            for (title, steps) in [("prechecks", playbook.prechecks), ("backup", playbook.backup), ("deploy", playbook.deploy)] where !steps.isEmpty {
                out += "  \(title):\n"
                for step in steps {
                    out += "    - \(step.name): \(StepDescription.describe(step.action, context))\n"
                    if let undo = step.undo {
                        out += "        rollback: \(StepDescription.describe(.shell(undo), context))\n"
                    }
                    if case .archive = step.action { out += "        rollback: restore this archive\n" }
                }
            }
            if let health = playbook.health {
                out += "  health (every \(DurationSyntax.format(health.interval)) for \(DurationSyntax.format(health.duration)), \(health.failuresAllowed) failed round(s) tolerated):\n"
                for probe in health.probes { out += "    - \(StepDescription.describe(probe: probe.check, context))\n" }
            }
            let undoable = (playbook.backup + playbook.deploy).reversed().compactMap { step -> String? in
                if let undo = step.undo { return "\(step.name): \(StepDescription.describe(.shell(undo), context))" }
                if case .archive(let archive) = step.action {
                    return "restore \((try? archive.path.render(context, quoting: .plain).display) ?? archive.path.source)"
                }
                return nil
            }
            if !undoable.isEmpty || !playbook.rollback.isEmpty {
                out += "  rollback order if needed:\n"
                for line in undoable { out += "    - \(line)\n" }
                for step in playbook.rollback { out += "    - \(step.name): \(StepDescription.describe(step.action, context))\n" }
            }
            write(out)
        }
    }

    /// The plan as text (tests and small plans).
    func text() -> String {
        var out = ""
        writeText { out += $0 }
        return out
    }

    /// Writes `{"name":..., ..., "hosts": [ {...}, ... ]}` one host at a time.
    func writeJSON(_ write: (Data) -> Void) throws {
        var head = json(includeHosts: false)
        head["hosts"] = []
        var prefix = try JSONSerialization.data(withJSONObject: head, options: [.sortedKeys])
        // Open the empty hosts array: `"hosts":[]` becomes `"hosts":[` and each host follows.
        guard let range = prefix.range(of: Data("\"hosts\":[]".utf8)) else { return }
        let tail = prefix.subdata(in: range.upperBound..<prefix.endIndex)
        prefix = prefix.subdata(in: prefix.startIndex..<range.upperBound.advanced(by: -1))
        write(prefix)
        for (index, host) in play.hosts.enumerated() {
            if index > 0 { write(Data(",".utf8)) }
            write(try JSONSerialization.data(withJSONObject: hostJSON(host), options: [.sortedKeys]))
        }
        write(Data("]".utf8) + tail + Data("\n".utf8))
    }

    func json(includeHosts: Bool = true) -> [String: Any] {
        let playbook = play.playbook
        let formatter = ISO8601DateFormatter()
        var document: [String: Any] = [
            "name": playbook.name, "environment": play.inventory.environment, "batches": batches,
            "max_fail": playbook.maxFail.description,
        ]
        if let window = playbook.window {
            document["window"] = [
                "start": formatter.string(from: window.start), "end": formatter.string(from: window.end),
                "rollback_point": formatter.string(from: window.rollbackPoint),
            ]
        }
        if includeHosts { document["hosts"] = play.hosts.map(hostJSON) }
        return document
    }

    func hostJSON(_ host: InventoryHost) -> [String: Any] {
        let playbook = play.playbook
        do {
            let context = context(host.name)
            func steps(_ list: [Step]) -> [[String: Any]] {
                list.map { step in
                    var item: [String: Any] = ["id": step.id, "name": step.name, "kind": step.action.kind, "action": StepDescription.describe(step.action, context)]
                    if let undo = step.undo { item["rollback"] = StepDescription.describe(.shell(undo), context) }
                    return item
                }
            }
            return [
                "name": host.name, "address": host.address, "prechecks": steps(playbook.prechecks), "backup": steps(playbook.backup),
                "deploy": steps(playbook.deploy), "rollback": steps(playbook.rollback),
                "probes": (playbook.health?.probes ?? []).map { StepDescription.describe(probe: $0.check, context) },
            ]
        }
    }
}
