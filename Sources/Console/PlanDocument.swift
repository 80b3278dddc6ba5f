import Engine
import Foundation
import Playbook
import Store
import System

/// The resolved plan of a validated play: as text or JSON (`golive plan`), and as a go-live plan
/// document for sign-off in Markdown or HTML (``markdown()``, ``html()``).
public struct PlanDocument: Sendable {
    /// The play.
    public let play: ValidatedPlay
    /// Host names per batch.
    public let batches: [[String]]
    /// The prediction from the newest rehearsal, if any.
    public var prediction: Prediction?
    /// The newest rehearsals (newest first) with their backup artifacts, for expected timings and sizes.
    public var rehearsals: [(run: RunRecord, timings: PhaseTimings, artifacts: [Artifact])] = []
    /// The command that runs exactly this plan (its playbook, inventory, `-e` and `--limit` values,
    /// and `--expect-plan`), shown beside the fingerprint.
    public var runCommand: String?

    /// The run command to show (a generic one when the plan was not made from a command line).
    var shownRunCommand: String { runCommand ?? "golive run PLAYBOOK -i INVENTORY --expect-plan \(resolved.fingerprint)" }
    /// The resolved plan and its fingerprint.
    public let resolved: ResolvedPlan

    /// The plan of a validated play.
    public init(play: ValidatedPlay) {
        self.play = play
        batches = Planner.batches(play.hosts.map(\.name), serial: play.playbook.serial)
        resolved = ResolvedPlan(play)
    }

    var run: [String: Value] {
        var run = Validator.placeholderRun
        run["environment"] = .string(play.inventory.environment)
        return run
    }

    func context(_ host: String) -> TemplateContext { ResolvedPlan.planContext(play, host: host, run: run) }

    /// Writes the plain-text plan in pieces (one per host).
    public func writeText(_ write: (String) -> Void) {
        let playbook = play.playbook
        var out = "Plan: \(playbook.name)   fingerprint \(resolved.fingerprint)\n"
        out += "  run exactly this plan with: \(shownRunCommand)\n"
        out += "  environment \(play.inventory.environment), \(play.hosts.count) host(s) in \(batches.count) batch(es), max_fail \(playbook.maxFail)\n"
        if let window = playbook.window {
            out += "  window \(Timestamp.seconds(window.start)) → \(Timestamp.seconds(window.end)), "
            out += "rollback point \(Timestamp.seconds(window.rollbackPoint)) (reserve \(DurationSyntax.format(window.rollbackReserve)))\n"
        } else {
            out += "  no window: `run` warns and proceeds\n"
        }
        if let prediction {
            out += "  prediction: \(Int(prediction.run.rounded()))s to run"
            out += prediction.rollback.map { ", \(Int($0.rounded()))s to roll back" } ?? ""
            out += " (rehearsal \(prediction.rehearsalID), \(Timestamp.seconds(prediction.rehearsed)))"
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
                    if step.runOnce, host.name != play.hosts.first?.name {
                        out += "    - \(step.name): runs on \(play.hosts.first?.name ?? "the first host") only (run_once); its result is shared\n"
                        continue
                    }
                    out += "    - \(step.name): \(StepDescription.describe(step.action, context))\(step.runOnce ? " (run_once: here only)" : "")\n"
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
    public func text() -> String {
        var out = ""
        writeText { out += $0 }
        return out
    }

    /// Writes `{"name":..., ..., "hosts": [ {...}, ... ]}` one host at a time.
    public func writeJSON(_ write: (Data) -> Void) throws {
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
        var document: [String: Any] = [
            "name": playbook.name, "environment": play.inventory.environment, "batches": batches,
            "max_fail": playbook.maxFail.description, "fingerprint": resolved.fingerprint,
        ]
        if let window = playbook.window {
            document["window"] = [
                "start": Timestamp.seconds(window.start), "end": Timestamp.seconds(window.end),
                "rollback_point": Timestamp.seconds(window.rollbackPoint),
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
