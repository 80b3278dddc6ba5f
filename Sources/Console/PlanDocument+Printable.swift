import Engine
import Foundation
import Playbook
import System

extension PlanDocument {
    /// The go-live plan for sign-off: window, hosts and batches, pre-checks, backups, every step per
    /// batch with its resolved command and rollback, gates and who answers them, health criteria,
    /// the rollback plan in the order it would run, expected durations from the rehearsals, and a
    /// sign-off table. Secrets show as `••••`; the fingerprint ties the document to what will run.
    public func printable(generated: Date = Date()) -> PrintableDocument {
        let playbook = play.playbook
        let metadata = playbook.metadata
        var facts: [(String, String)] = []
        if let change = metadata.changeID { facts.append(("Change", change)) }
        facts.append(("Playbook", "\(playbook.name) (\(playbook.file))"))
        facts.append(("Environment", "\(play.inventory.environment) (inventory \(play.inventory.file))"))
        if let owner = metadata.owner { facts.append(("Owner", owner)) }
        if !metadata.contacts.isEmpty { facts.append(("Contacts", metadata.contacts.joined(separator: "; "))) }
        facts.append(("Hosts", "\(play.hosts.count) in \(batches.count) batch(es), \(maxFailText)"))
        if playbook.hasPlayList {
            facts.append(("Plays", play.plays.map(\.play.label).joined(separator: ", then ") + " (a failure rolls them back in reverse order)"))
        }
        facts.append(("Plan fingerprint", "\(resolved.fingerprint)  (run exactly this plan with: \(shownRunCommand))"))
        facts.append(("Generated", Timestamp.seconds(generated)))

        var sections: [PrintableDocument.Section] = []
        if let description = metadata.description { sections.append(.init("Description", [.paragraph(description)])) }
        sections.append(windowSection())
        for part in play.plays {
            let own = schedule.filter { $0.play == part.play.index }
            sections.append(
                .init(
                    heading(part) + "Hosts and batches",
                    [
                        .paragraph(
                            "Batches run one after another; within a batch every host runs each step in parallel. Any failed host beyond max_fail (\(part.play.maxFail)) stops the run and rolls every changed host back."
                                + (playbook.hasPlayList ? " The play starts once the plays before it are done." : "")
                        ),
                        .table(
                            header: ["Batch", "Hosts", "Addresses"],
                            rows: own.map { batch in
                                [
                                    "\(batch.number)", batch.hosts.joined(separator: ", "),
                                    batch.hosts.map { name in play.inventory.host(named: name)?.address ?? "" }.joined(separator: ", "),
                                ]
                            }),
                    ]))
            sections.append(
                stepsSection(
                    heading(part) + "Pre-checks", part.play.prechecks, part,
                    note: "Run on every host before anything changes (every play's, before the first play starts); any failure stops the go-live with nothing changed."))
            sections.append(backupSection(part))
            sections.append(deploySection(part))
            sections.append(gatesSection(part))
            sections.append(healthSection(part))
        }
        sections.append(notifySection())
        sections.append(renderedFilesSection())
        sections.append(rollbackSection())
        sections.append(notUndoneSection())
        sections.append(timingSection())
        sections.append(signOffSection())
        return PrintableDocument(title: "Go-live plan: \(playbook.name)", facts: facts, sections: sections)
    }

    /// The plan as Markdown.
    public func markdown(generated: Date = Date()) -> String { printable(generated: generated).markdown() }

    /// The plan as a self-contained, printable HTML page.
    public func html(generated: Date = Date()) -> String { printable(generated: generated).html() }

    // MARK: sections

    private func windowSection() -> PrintableDocument.Section {
        guard let window = play.playbook.window else {
            var blocks: [PrintableDocument.Block] = [.paragraph("No window declared: the run is not time-boxed (`run` warns and proceeds).")]
            if let prediction { blocks.append(.table(header: ["", "Time"], rows: Self.expectedRows(prediction))) }
            return .init("Window", blocks)
        }
        var rows: [[String]] = [
            ["Window opens", Timestamp.seconds(window.start)],
            ["Window closes", Timestamp.seconds(window.end)],
            ["Length", DurationSyntax.format(.seconds(window.end.timeIntervalSince(window.start)))],
            ["Rollback reserve", DurationSyntax.format(window.rollbackReserve)],
            ["Announced downtime", window.downtime.map { DurationSyntax.format($0) } ?? "none declared"],
        ]
        var point = window.rollbackPoint
        if let prediction {
            let fit = prediction.fit(window, startingAt: window.start)
            point = fit.rollbackPoint
            rows += Self.expectedRows(prediction)
            rows.append(["Fits before the rollback point", fit.fits ? "yes, \(Self.seconds(fit.margin)) to spare" : "NO: short by \(Self.seconds(-fit.margin))"])
        }
        rows.insert(["Rollback point (no change starts after it; anything unfinished is rolled back)", Timestamp.seconds(point)], at: 2)
        return .init("Window", [.table(header: ["", "Time"], rows: rows)])
    }

    /// What a rehearsal predicts: the run's length and, when it was timed, the rollback's.
    private static func expectedRows(_ prediction: Prediction) -> [[String]] {
        [["Expected run (from rehearsal \(prediction.rehearsalID))", seconds(prediction.run)]]
            + (prediction.rollback.map { [["Expected rollback", seconds($0)]] } ?? [])
    }

    /// Hosts grouped by what a step resolves to on them, in first-seen order.
    private func grouped(_ hosts: [String], _ describe: (String) -> String) -> [(text: String, hosts: [String])] {
        var order: [String] = []
        var members: [String: [String]] = [:]
        for host in hosts {
            let text = describe(host)
            if members[text] == nil { order.append(text) }
            members[text, default: []].append(host)
        }
        return order.map { ($0, members[$0] ?? []) }
    }

    /// The hosts of a row: "all (N)" when it is every host in scope.
    private func hostList(_ hosts: [String], of all: [String]) -> String {
        hosts.count == all.count && all.count > 1 ? "all \(all.count): \(hosts.joined(separator: ", "))" : hosts.joined(separator: ", ")
    }

    /// Who or what carries out a step.
    private func actor(_ step: Step) -> String {
        switch step.delegate {
        case .controller: return "golive, on the controller, for each host"
        case .host(let name): return "golive, on \(name), for each host" + (step.throttle.map { " (\($0) at a time)" } ?? "")
        case nil: break
        }
        switch step.action {
        case .gate(let gate): return "operator" + (gate.owner.map { " (\($0))" } ?? "")
        case .local: return "golive, on the controller"
        case .http(let http) where !http.viaHost: return "golive, from the controller"
        case .tcp: return "golive, from the controller"
        default: return step.runOnce ? "golive, first host of the run only" : "golive, on each host"
        }
    }

    private func stepRows(_ steps: [Step], hosts: [String], _ part: ValidatedPlay, withRollback: Bool) -> [[String]] {
        var rows: [[String]] = []
        for (index, step) in steps.enumerated() {
            for (text, members) in grouped(hosts, { StepDescription.describe(step.action, context($0, part)) }) {
                var row = ["\(index + 1)", ResolvedPlan.options(step), actor(step), text, hostList(members, of: hosts)]
                if withRollback {
                    var undo = step.undo.map { StepDescription.describe(.shell($0), context(members[0], part)) } ?? (step.nothingToUndo ? "none (nothing to undo)" : step.undoneByBackup ? "the backup's restore" : "—")
                    if case .archive = step.action { undo = "restore this archive" }
                    row.append(undo)
                }
                rows.append(row)
            }
        }
        return rows
    }

    private func stepsSection(_ title: String, _ steps: [Step], _ part: ValidatedPlay, note: String) -> PrintableDocument.Section {
        guard !steps.isEmpty else { return .init(title, [.paragraph("None.")]) }
        return .init(
            title,
            [.paragraph(note), .table(header: ["#", "Step", "By", "Resolved command", "Hosts"], rows: stepRows(steps, hosts: part.hostNames, part, withRollback: false))])
    }

    private func backupSection(_ part: ValidatedPlay) -> PrintableDocument.Section {
        let steps = part.play.backup
        let title = heading(part) + "Backups"
        guard !steps.isEmpty else { return .init(title, [.paragraph("None declared.")]) }
        let hosts = part.hostNames
        let latest = rehearsals.first
        var rows: [[String]] = []
        for (index, step) in steps.enumerated() {
            let sizes = latest?.artifacts.filter { $0.step == step.id }.compactMap(\.bytes) ?? []
            let expected =
                sizes.isEmpty
                ? "not rehearsed"
                : "\(ByteSize.format(Double(sizes.max() ?? 0), bytes: true)) per host at most, \(ByteSize.format(Double(sizes.reduce(0, +)), bytes: true)) in all (rehearsal \(latest?.run.id ?? ""))"
            // A run_once backup is taken on the first host only.
            let takers = step.runOnce ? Array(hosts.prefix(1)) : hosts
            for (text, members) in grouped(takers, { StepDescription.describe(step.action, context($0, part)) }) {
                let list = step.runOnce ? "\(members.joined(separator: ", ")) only (run_once)" : hostList(members, of: hosts)
                rows.append(["\(index + 1)", step.name, text, list, expected])
            }
        }
        return .init(
            title,
            [
                .paragraph("Taken on each host of a batch before its first change; recorded (size, sha256) on the timeline and restored by the rollback."),
                .table(header: ["#", "Backup", "What → where", "Hosts", "Expected size"], rows: rows),
            ])
    }

    private func deploySection(_ part: ValidatedPlay) -> PrintableDocument.Section {
        var blocks: [PrintableDocument.Block] = [
            .paragraph("Per batch, each step runs on every host of the batch; a step starts on a host only after the previous one succeeded there.")
        ]
        for batch in schedule where batch.play == part.play.index {
            blocks.append(.paragraph("Batch \(batch.number) of \(batches.count): \(batch.hosts.joined(separator: ", "))"))
            blocks.append(
                .table(
                    header: ["#", "Step", "By", "Resolved command", "Hosts", "Rollback"],
                    rows: stepRows(part.play.deploy, hosts: batch.hosts, part, withRollback: true)))
        }
        return .init(heading(part) + "Deployment steps", blocks)
    }

    private func notifySection() -> PrintableDocument.Section {
        guard !play.notifyTargets.isEmpty else {
            return .init("Notifications", [.paragraph("No notification targets: nobody is told but the operator's terminal.")])
        }
        let rows = play.notifyTargets.map { target in
            [
                target.name, target.kind.rawValue, target.shownAddress + (target.signingSecret == nil ? "" : " (signed)"),
                target.events == NotifyTarget.defaultEvents ? "all" : target.events.map(\.rawValue).sorted().joined(separator: ", "),
            ]
        }
        return .init(
            "Notifications",
            [
                .paragraph("Told as the run goes (delivery never holds a step up; every delivery is on the timeline). Addresses are shown without their paths and tokens."),
                .table(header: ["Target", "Kind", "Address", "Events"], rows: rows),
            ])
    }

    private func gatesSection(_ part: ValidatedPlay) -> PrintableDocument.Section {
        let gates = part.play.deploy.filter { if case .gate = $0.action { true } else { false } }
        let title = heading(part) + "Gates"
        guard !gates.isEmpty else { return .init(title, [.paragraph("No gates: the run does not stop for a go / no-go.")]) }
        var rows: [[String]] = []
        for batch in schedule where batch.play == part.play.index {
            for step in gates {
                guard case .gate(let gate) = step.action else { continue }
                let prompt = StepDescription.describe(step.action, context(batch.hosts[0], part))
                rows.append([
                    "\(batch.number)", prompt, gate.owner ?? "the operator running golive",
                    gate.approvers.isEmpty ? "anyone who reaches the run (and --yes)" : gate.approvers.joined(separator: ", "),
                    step.timeout.map { "no after \(DurationSyntax.format($0))" } ?? "waits",
                ])
            }
        }
        return .init(
            title,
            [
                .paragraph(
                    "The run waits at each gate, once per batch, for a yes; a no rolls back every changed host. A gate is answered at "
                        + "the run's terminal or with `golive answer RUN yes|no` from any terminal that reaches the store; a gate that "
                        + "names approvers counts only their answer, whatever flags the operator passed."),
                .table(header: ["Batch", "Gate", "Owner", "Approvers", "Unanswered"], rows: rows),
            ])
    }

    private func healthSection(_ part: ValidatedPlay) -> PrintableDocument.Section {
        let title = heading(part) + "Health criteria"
        guard let health = part.play.health else { return .init(title, [.paragraph("No health watch declared.")]) }
        let hosts = part.hostNames
        var rows: [[String]] = []
        for (index, probe) in health.probes.enumerated() {
            for (text, members) in grouped(hosts, { StepDescription.describe(probe: probe.check, context($0, part)) }) {
                rows.append(["\(index + 1)", probe.name, text, hostList(members, of: hosts)])
            }
        }
        return .init(
            title,
            [
                .paragraph(
                    "After each batch: every \(DurationSyntax.format(health.interval)) for \(DurationSyntax.format(health.duration)); a host fails after more than \(health.failuresAllowed) failed round(s) in a row, and the run rolls back."
                ),
                .table(header: ["#", "Probe", "Resolved", "Hosts"], rows: rows),
            ])
    }

    private func rollbackSection() -> PrintableDocument.Section {
        var rows: [[String]] = []
        var order = 0
        let named = play.playbook.hasPlayList
        // In the order a rollback of every host would run: the plays last first, each play's
        // batches newest first, each batch's hosts step by step in reverse, then its verification.
        for part in play.plays.reversed() {
            let playbook = part.play
            let groups = Planner.rollbackBatches(part, changed: part.hostNames)
            for (number, hosts) in groups.enumerated() {
                let batch = (named ? "\(playbook.id ?? "") " : "") + "\(number + 1) of \(groups.count)"
                func add(_ action: String, _ describe: (String) -> String) {
                    for (text, members) in grouped(hosts, describe) {
                        order += 1
                        rows.append(["\(order)", batch, action, text, hostList(members, of: hosts)])
                    }
                }
                for step in (playbook.backup + playbook.deploy).reversed() {
                    if let undo = step.undo {
                        add("undo \(step.name)") { StepDescription.where(step, in: play, for: $0) + StepDescription.describe(.shell(undo), context($0, part)) }
                    } else if case .archive(let archive) = step.action {
                        add("undo \(step.name)") { host in
                            "restore \((try? archive.destination.render(context(host, part), quoting: .plain).display) ?? archive.destination.source) into \((try? archive.path.render(context(host, part), quoting: .plain).display) ?? archive.path.source)"
                        }
                    }
                }
                for step in playbook.rollback {
                    add(step.name) { StepDescription.where(step, in: play, for: $0) + StepDescription.describe(step.action, context($0, part)) }
                }
                for probe in playbook.health?.probes ?? [] {
                    add("verify: \(probe.name)") { StepDescription.describe(probe: probe.check, context($0, part)) }
                }
            }
        }
        let batching = play.plays.map { part -> String in
            let how = part.play.rollbackSerial.map { "rollback_serial \($0.map(\.description).joined(separator: ", "))" }
                ?? "the deploy's batches (serial \(part.play.serial.map(\.description).joined(separator: ", ")))"
            return (named ? "\(part.play.id ?? ""): " : "") + how
        }.joined(separator: "; ")
        let trigger =
            "Automatic when a step fails beyond max_fail, the health watch fails, the rollback point is reached, or the operator aborts (Ctrl-C). "
            + (named ? "The plays are rolled back in reverse order, the last play first. " : "")
            + "The changed hosts are rolled back batch by batch, the newest batch first (\(batching)), so the others keep serving; "
            + "each host in reverse order of what was applied to it, only for the steps that ran there (a delegated step's undo where it ran); "
            + "then the playbook's rollback steps; then the health probes verify each host before the next batch is touched."
        guard !rows.isEmpty else { return .init("Rollback plan", [.paragraph(trigger), .paragraph("Nothing to undo: no step declares a rollback or a backup.")]) }
        return .init("Rollback plan", [.paragraph(trigger), .table(header: ["Order", "Batch", "Action", "Resolved", "Hosts"], rows: rows)])
    }

    /// Each `template:` file as it will land, per host (hosts that get the same text grouped).
    private func renderedFilesSection() -> PrintableDocument.Section {
        let base = URL(fileURLWithPath: play.playbook.file).deletingLastPathComponent()
        var blocks: [PrintableDocument.Block] = []
        for part in play.plays {
            for step in part.play.allSteps {
                guard case .template(let transfer) = step.action else { continue }
                for (text, members) in grouped(part.hostNames, { ResolvedPlan.renderedFile(transfer, context($0, part), base: base)?.display ?? "(cannot be rendered before the run)" }) {
                    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                    let shown = lines.prefix(80).joined(separator: "\n") + (lines.count > 80 ? "\n… \(lines.count - 80) more line(s)" : "")
                    let destination = (try? transfer.destination.render(context(members[0], part), quoting: .plain).display) ?? transfer.destination.source
                    let heading = "\(heading(part))'\(step.name)' writes \(destination) on \(hostList(members, of: part.hostNames)):"
                    blocks.append(.paragraph(heading))
                    blocks.append(
                        .html(
                            "<pre>\(PrintableDocument.escape(shown))</pre>",
                            markdown: "```\n" + shown.replacingOccurrences(of: "```", with: "`\u{200B}``") + "\n```"))
                }
            }
        }
        guard !blocks.isEmpty else { return .init("Rendered files", [.paragraph("No `template:` steps.")]) }
        return .init("Rendered files", [.paragraph("Each template file as it will be written, per host; hosts that get the same text are grouped.")] + blocks)
    }

    private func notUndoneSection() -> PrintableDocument.Section {
        let uncovered = play.plays.flatMap { UndoCoverage.uncovered(in: $0) }
        guard !uncovered.isEmpty else {
            return .init("Not undone by rollback", [.paragraph("Every deploy step that changes a host has an undo (or says `rollback: none`).")])
        }
        return .init(
            "Not undone by rollback",
            [
                .paragraph("These deploy steps change the hosts and nothing undoes them: a rollback leaves what they did in place."),
                .table(
                    header: ["Step", "Name", "Why", "Where"],
                    rows: uncovered.map { [$0.step.id, $0.step.name, $0.reason, "\($0.step.location)"] }),
            ])
    }

    private func timingSection() -> PrintableDocument.Section {
        guard !rehearsals.isEmpty else {
            return .init(
                "Expected durations",
                [.paragraph("No rehearsal of this playbook in the timeline store yet: rehearse first (`golive rehearse PLAYBOOK -i INVENTORY --rollback-after`).")])
        }
        var rows: [[String]] = []
        for phase in RunEvent.Phase.allCases where phase != .verify {
            let values = rehearsals.compactMap { $0.timings.phases[phase] }
            guard !values.isEmpty else { continue }
            rows.append([phase.rawValue, Self.seconds(PhaseTimings.median(values)), Self.spread(values), "\(values.count)"])
        }
        let totals = rehearsals.map(\.timings.total)
        rows.append(["whole run", Self.seconds(PhaseTimings.median(totals)), Self.spread(totals), "\(totals.count)"])
        let listed = rehearsals.map { "\($0.run.id) (\(Timestamp.seconds($0.run.started)), \($0.run.status), \($0.run.hosts.count) host(s))" }
        return .init(
            "Expected durations",
            [
                .paragraph("From the \(rehearsals.count) newest rehearsal(s) of this playbook: \(listed.joined(separator: "; "))."),
                .table(header: ["Phase", "Median", "Spread (min–max)", "Rehearsals"], rows: rows),
            ])
    }

    private func signOffSection() -> PrintableDocument.Section {
        let metadata = play.playbook.metadata
        var rows: [[String]] = [["Change owner", metadata.owner ?? "", "", "", ""]]
        for contact in metadata.contacts { rows.append(["Contact", contact, "", "", ""]) }
        rows.append(["Operations lead", "", "", "", ""])
        rows.append(["Approver", "", "", "", ""])
        return .init(
            "Sign-off",
            [
                .paragraph("Signed off for plan fingerprint \(resolved.fingerprint). A run started with `--expect-plan \(resolved.fingerprint)` refuses to start if the playbook, the inventory or the variables changed since."),
                .table(header: ["Role", "Name", "Go / no-go", "Signature", "Date"], rows: rows),
            ])
    }

    // MARK: formatting

    static func seconds(_ value: TimeInterval) -> String {
        if value < 10 { return String(format: "%.2f s", value) }
        return value < 90 ? String(format: "%.1f s", value) : String(format: "%dm%02ds", Int(value) / 60, Int(value) % 60)
    }

    static func spread(_ values: [TimeInterval]) -> String {
        guard let low = values.min(), let high = values.max() else { return "" }
        return "\(seconds(low)) – \(seconds(high))"
    }

}
