import Engine
import Foundation
import Playbook
import System

/// The resolved plan of a validated playbook (every play): as text or JSON (`golive plan`), and as a go-live plan
/// document for sign-off in Markdown or HTML (``markdown()``, ``html()``).
public struct PlanDocument: Sendable {
    /// The playbook.
    public let play: ValidatedPlaybook
    /// Every play's batches, numbered across plays.
    public let schedule: [PlannedBatch]
    /// Host names per batch.
    public var batches: [[String]] { schedule.map(\.hosts) }
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

    /// The plan of a validated playbook.
    public init(play: ValidatedPlaybook) {
        self.play = play
        schedule = Planner.schedule(play)
        resolved = ResolvedPlan(play)
    }

    /// A play's heading prefix in a playbook with a `plays:` list (`Play web (roll the web hosts): `), else empty.
    func heading(_ part: ValidatedPlay) -> String {
        play.playbook.hasPlayList ? "Play \(part.play.label): " : ""
    }

    /// "max_fail N" of the single play, or each play's.
    var maxFailText: String {
        play.plays.count == 1
            ? "max_fail \(play.plays[0].play.maxFail)"
            : play.plays.map { "\($0.play.id ?? "") max_fail \($0.play.maxFail)" }.joined(separator: ", ")
    }

    var run: [String: Value] {
        var run = Validator.placeholderRun
        run["environment"] = .string(play.inventory.environment)
        return run
    }

    func context(_ host: String, _ part: ValidatedPlay) -> TemplateContext {
        ResolvedPlan.planContext(play, play: part.play.index, host: host, run: run)
    }

    /// Writes the plain-text plan in pieces (one per host).
    public func writeText(_ write: (String) -> Void) {
        let playbook = play.playbook
        var out = "Plan: \(playbook.name)   fingerprint \(resolved.fingerprint)\n"
        out += "  run exactly this plan with: \(shownRunCommand)\n"
        out += "  environment \(play.inventory.environment), \(play.hosts.count) host(s) in \(batches.count) batch(es), \(maxFailText)\n"
        if playbook.hasPlayList {
            out += "  plays, in order (a failure rolls them back in reverse): "
                + play.plays.map { "\($0.play.label) " + ($0.hosts.isEmpty ? "skipped (no host left by --limit)" : "on " + $0.hostNames.joined(separator: ", ")) }
                .joined(separator: "; ") + "\n"
        }
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
        for batch in schedule {
            let label = playbook.hasPlayList ? "[\(play.plays[batch.play].play.id ?? "")] " : ""
            out += "  \(batch.number). \(label)\(batch.hosts.joined(separator: ", "))\n"
        }
        let uncovered = play.plays.flatMap { UndoCoverage.uncovered(in: $0) }
        if !uncovered.isEmpty {
            out += "\nNot undone by rollback (no `rollback:`, no archive backup, no `rollback: none`):\n"
            for item in uncovered { out += "  - \(item.step.id) \(item.step.name) (\(item.step.location))\n" }
        }
        write(out)
        for part in play.plays {
          for host in part.hosts {
            out = ""
            let context = context(host.name, part)
            out += "\n\(heading(part))Host \(host.name) (\(host.address)):\n"
            for (title, steps) in [("prechecks", part.play.prechecks), ("backup", part.play.backup), ("deploy", part.play.deploy)] where !steps.isEmpty {
                out += "  \(title):\n"
                for step in steps {
                    if step.runOnce, host.name != part.hosts.first?.name {
                        out += "    - \(step.name): runs on \(part.hosts.first?.name ?? "the first host") only (run_once); its result is shared\n"
                        continue
                    }
                    out += "    - \(step.name): \(StepDescription.where(step, in: play, for: host.name))\(StepDescription.describe(step.action, context))\(step.runOnce ? " (run_once: here only)" : "")\n"
                    if let undo = step.undo {
                        out += "        rollback: \(StepDescription.describe(.shell(undo), context))\n"
                    }
                    if case .archive = step.action { out += "        rollback: restore this archive\n" }
                }
            }
            if let health = part.play.health {
                out += "  health (every \(DurationSyntax.format(health.interval)) for \(DurationSyntax.format(health.duration)), \(health.failuresAllowed) failed round(s) tolerated):\n"
                for probe in health.probes { out += "    - \(StepDescription.describe(probe: probe.check, context))\n" }
            }
            let undoable = (part.play.backup + part.play.deploy).reversed().compactMap { step -> String? in
                if let undo = step.undo { return "\(step.name): \(StepDescription.describe(.shell(undo), context))" }
                if case .archive(let archive) = step.action {
                    return "restore \((try? archive.path.render(context, quoting: .plain).display) ?? archive.path.source)"
                }
                return nil
            }
            if !undoable.isEmpty || !part.play.rollback.isEmpty {
                out += "  rollback order if needed:\n"
                for line in undoable { out += "    - \(line)\n" }
                for step in part.play.rollback { out += "    - \(step.name): \(StepDescription.describe(step.action, context))\n" }
            }
            write(out)
          }
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
        var first = true
        for part in play.plays {
            for host in part.hosts {
                if !first { write(Data(",".utf8)) }
                first = false
                write(try JSONSerialization.data(withJSONObject: hostJSON(host, part), options: [.sortedKeys]))
            }
        }
        write(Data("]".utf8) + tail + Data("\n".utf8))
    }

    func json(includeHosts: Bool = true) -> [String: Any] {
        let playbook = play.playbook
        var document: [String: Any] = [
            "name": playbook.name, "environment": play.inventory.environment, "batches": batches,
            "max_fail": play.plays[0].play.maxFail.description, "fingerprint": resolved.fingerprint,
            "not_undone": play.plays.flatMap { UndoCoverage.uncovered(in: $0) }.map { ["id": $0.step.id, "name": $0.step.name] },
        ]
        if playbook.hasPlayList {
            document["plays"] = play.plays.map { part in
                [
                    "id": part.play.id ?? "", "name": part.play.name, "hosts": part.hostNames,
                    "batches": schedule.filter { $0.play == part.play.index }.map(\.number),
                    "max_fail": part.play.maxFail.description,
                ] as [String: Any]
            }
        }
        if let window = playbook.window {
            document["window"] = [
                "start": Timestamp.seconds(window.start), "end": Timestamp.seconds(window.end),
                "rollback_point": Timestamp.seconds(window.rollbackPoint),
            ]
        }
        if let prediction {
            var predicted: [String: Any] = [
                "run_seconds": prediction.run, "rehearsal": prediction.rehearsalID, "rehearsed": Timestamp.seconds(prediction.rehearsed),
            ]
            if let rollback = prediction.rollback { predicted["rollback_seconds"] = rollback }
            if let window = playbook.window {
                let fit = prediction.fit(window, startingAt: window.start)
                predicted["fits"] = fit.fits
                predicted["margin_seconds"] = fit.margin
                predicted["rollback_point"] = Timestamp.seconds(fit.rollbackPoint)
            }
            document["prediction"] = predicted
        }
        if !play.notifyTargets.isEmpty { document["notify"] = play.notifyTargets.map(Self.notifyJSON) }
        if includeHosts { document["hosts"] = play.plays.flatMap { part in part.hosts.map { hostJSON($0, part) } } }
        return document
    }

    /// A notification target as the plan shows it: its address redacted (see ``NotifyTarget/shownAddress``).
    static func notifyJSON(_ target: NotifyTarget) -> [String: Any] {
        [
            "name": target.name, "kind": target.kind.rawValue, "address": target.shownAddress, "events": target.events.map(\.rawValue).sorted(),
            "signed": target.signingSecret != nil,
        ]
    }

    func hostJSON(_ host: InventoryHost, _ part: ValidatedPlay) -> [String: Any] {
        let playbook = part.play
        do {
            let context = context(host.name, part)
            func steps(_ list: [Step]) -> [[String: Any]] {
                list.map { step in
                    var item: [String: Any] = ["id": step.id, "name": step.name, "kind": step.action.kind, "action": StepDescription.describe(step.action, context)]
                    if let undo = step.undo { item["rollback"] = StepDescription.describe(.shell(undo), context) }
                    if let delegate = step.delegate { item["delegate_to"] = delegate.description }
                    if case .gate(let gate) = step.action {
                        item["owner"] = gate.owner
                        item["approvers"] = gate.approvers
                        item["timeout"] = step.timeout.map(DurationSyntax.format)
                    }
                    return item
                }
            }
            var entry: [String: Any] = [
                "name": host.name, "address": host.address, "prechecks": steps(playbook.prechecks), "backup": steps(playbook.backup),
                "deploy": steps(playbook.deploy), "rollback": steps(playbook.rollback),
                "probes": (playbook.health?.probes ?? []).map { StepDescription.describe(probe: $0.check, context) },
            ]
            if let id = playbook.id { entry["play"] = id }
            return entry
        }
    }
}
