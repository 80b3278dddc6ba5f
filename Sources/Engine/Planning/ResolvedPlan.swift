import Foundation
import Playbook
import System

/// Everything a run of a play will do, flattened into ordered `key = value` lines: the playbook's
/// settings and window, the batches, every host's variables, and every step, rollback and probe
/// as resolved for each host (secrets as `••••`). Its hash is the plan's fingerprint: a go-live
/// plan signed off under one fingerprint runs only if nothing in it changed (`run --expect-plan`).
public struct ResolvedPlan: Sendable, Hashable {
    /// One line of the plan: `key` names what (`var version @web1`), `value` its resolved form.
    public struct Entry: Codable, Sendable, Hashable {
        /// What the line is about; host-specific keys end in ` @HOST`.
        public var key: String
        /// The resolved value.
        public var value: String
    }

    /// The lines, in a stable order.
    public var entries: [Entry]

    /// The first 12 hex digits of the SHA-256 of the lines.
    public var fingerprint: String {
        let text = entries.map { "\($0.key)\t\($0.value)\n" }.joined()
        return String(Digest.sha256Hex(Data(text.utf8)).prefix(12))
    }

    /// Creates a plan from its lines (as stored).
    public init(entries: [Entry]) { self.entries = entries }

    /// The resolved plan of a validated playbook: the playbook's lines, then each play's (its
    /// settings, steps, and every host's variables and resolved steps). A playbook with a `plays:`
    /// list names each play's lines after its id.
    public init(_ validated: ValidatedPlaybook) {
        let playbook = validated.playbook
        var lines: [Entry] = []
        func add(_ key: String, _ value: String) { lines.append(Entry(key: key, value: value)) }
        add("playbook", playbook.name)
        add("environment", validated.inventory.environment)
        add("hosts", validated.hosts.map(\.name).joined(separator: ","))
        let named = playbook.hasPlayList
        if !named, let play = validated.plays.first {
            add("serial", play.play.serial.map(\.description).joined(separator: ","))
            if let rollback = play.play.rollbackSerial { add("rollback_serial", rollback.map(\.description).joined(separator: ",")) }
            add("max_fail", play.play.maxFail.description)
        }
        add("batches", Planner.schedule(validated).map { $0.hosts.joined(separator: ",") }.joined(separator: ";"))
        if !validated.delegates.isEmpty { add("delegates", validated.delegates.map(\.name).joined(separator: ",")) }
        if let window = playbook.window {
            add("window", "\(Timestamp.seconds(window.start)) → \(Timestamp.seconds(window.end))")
            add("window.rollback_reserve", DurationSyntax.format(window.rollbackReserve))
            if let downtime = window.downtime { add("window.downtime", DurationSyntax.format(downtime)) }
        }
        var run = Validator.placeholderRun
        run["environment"] = .string(validated.inventory.environment)
        // What an upload or template sends is part of the plan: its file's SHA-256.
        let base = URL(fileURLWithPath: playbook.file).deletingLastPathComponent()
        var digests: [String: String] = [:]
        func fileDigest(_ source: Template, _ context: TemplateContext) -> String? {
            guard let path = try? source.render(context, quoting: .plain).display else { return nil }
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
            if let known = digests[url.path] { return known }
            guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
            let digest = "sha256 " + Digest.sha256Hex(data).prefix(16)
            digests[url.path] = digest
            return digest
        }
        for play in validated.plays {
            let prefix = named ? "\(play.play.id ?? "").": ""
            if named {
                add("play \(play.play.id ?? "")", play.play.name)
                add("\(prefix)hosts", play.hostNames.joined(separator: ","))
                add("\(prefix)serial", play.play.serial.map(\.description).joined(separator: ","))
                if let rollback = play.play.rollbackSerial { add("\(prefix)rollback_serial", rollback.map(\.description).joined(separator: ",")) }
                add("\(prefix)max_fail", play.play.maxFail.description)
            }
            if let health = play.play.health {
                add(
                    "\(prefix)health",
                    "every \(DurationSyntax.format(health.interval)) for \(DurationSyntax.format(health.duration)), \(health.failuresAllowed) failure(s) allowed"
                )
            }
            for step in play.play.allSteps { add("step \(step.id)", Self.options(step)) }
            for host in play.hosts {
                let variables = play.variables[host.name] ?? [:]
                for name in variables.keys.sorted() {
                    for (path, value) in Self.flatten(variables[name] ?? .null, name) { add("var \(prefix)\(path) @\(host.name)", value) }
                }
                let context = Self.planContext(validated, play: play.play.index, host: host.name, run: run)
                for step in play.play.allSteps {
                    add("step \(step.id) @\(host.name)", StepDescription.where(step, in: validated, for: host.name) + StepDescription.describe(step.action, context))
                    if case .upload(let transfer) = step.action, let digest = fileDigest(transfer.source, context) {
                        add("file \(step.id) @\(host.name)", digest)
                    }
                    if case .template(let transfer) = step.action {
                        // What lands on the host: the file as rendered for it (a loop over a group
                        // renders differently when the group's members change).
                        if let rendered = Self.renderedFile(transfer, context, base: base) {
                            add("file \(step.id) @\(host.name)", "rendered sha256 " + Digest.sha256Hex(Data(rendered.display.utf8)).prefix(16))
                        } else if let digest = fileDigest(transfer.source, context) {
                            add("file \(step.id) @\(host.name)", digest)
                        }
                    }
                    if let undo = step.undo { add("rollback \(step.id) @\(host.name)", StepDescription.describe(.shell(undo), context)) }
                }
                for (index, probe) in (play.play.health?.probes ?? []).enumerated() {
                    add("\(prefix)probe \(index + 1) @\(host.name)", StepDescription.describe(probe: probe.check, context))
                }
            }
        }
        entries = lines
    }

    /// A `template:` step's file as rendered for a host's plan context (secrets as `••••` in
    /// `display`), or nil when it cannot be read or rendered.
    public static func renderedFile(_ transfer: Transfer, _ context: TemplateContext, base: URL) -> RenderedText? {
        guard let path = try? transfer.source.render(context, quoting: .plain).text else { return nil }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path), let template = try? Template.parse(fileData: data, file: url.path)
        else { return nil }
        return try? template.render(context, quoting: .plain)
    }

    /// A host's template context in a play for plans: placeholder run details and registered results
    /// (its own play's, and earlier plays' under `plays`).
    public static func planContext(_ validated: ValidatedPlaybook, play: Int, host: String, run: [String: Value]) -> TemplateContext {
        var context = validated.context(for: host, play: play, run: run)
        if validated.playbook.hasPlayList {
            // Earlier plays' results as placeholders naming themselves: `<plays.migrate.db1.version.stdout>`.
            var byPlay: [String: Value] = [:]
            for earlier in validated.plays.prefix(play) {
                guard let id = earlier.play.id, case .map(let shape) = Validator.registeredShape else { continue }
                let names = (earlier.play.prechecks + earlier.play.backup + earlier.play.deploy).compactMap(\.register)
                var byHost: [String: Value] = [:]
                for other in earlier.hostNames {
                    byHost[other] = .map(
                        Dictionary(
                            names.map { name in
                                (name, Value.map(Dictionary(uniqueKeysWithValues: shape.keys.map { ($0, Value.string("<plays.\(id).\(other).\(name).\($0)>")) })))
                            }, uniquingKeysWith: { first, _ in first }))
                }
                byPlay[id] = .map(byHost)
            }
            context.variables["plays"] = .map(byPlay)
        }
        for step in validated.plays[play].play.allSteps {
            guard let name = step.register, case .map(let shape) = Validator.registeredShape else { continue }
            context.variables[name] = .map(Dictionary(uniqueKeysWithValues: shape.keys.map { ($0, Value.string("<\(name).\($0)>")) }))
        }
        return context
    }

    /// A step's name, kind and options (the same on every host).
    public static func options(_ step: Step) -> String {
        var parts = ["\(step.name) (\(step.action.kind))"]
        if let when = step.when { parts.append("when \(when.source)") }
        if let timeout = step.timeout { parts.append("timeout \(DurationSyntax.format(timeout))") }
        if step.retries > 0 { parts.append("retries \(step.retries) delay \(DurationSyntax.format(step.delay))") }
        if let until = step.until { parts.append("until \(until.source)") }
        if let register = step.register { parts.append("register \(register)") }
        if step.runOnce { parts.append("run_once") }
        if let delegate = step.delegate { parts.append("delegate_to \(delegate)") }
        if let throttle = step.throttle { parts.append("throttle \(throttle)") }
        if step.nothingToUndo { parts.append("rollback none") }
        if step.undoneByBackup { parts.append("rollback backup") }
        if step.ignoreErrors { parts.append("ignore_errors") }
        if case .gate(let gate) = step.action, !gate.approvers.isEmpty { parts.append("approvers \(gate.approvers.joined(separator: " "))") }
        return parts.joined(separator: ", ")
    }

    /// A variable as `(path, text)` leaves; secrets as `••••`.
    static func flatten(_ value: Value, _ path: String) -> [(String, String)] {
        switch value {
        case .map(let entries): entries.keys.sorted().flatMap { flatten(entries[$0] ?? .null, "\(path).\($0)") }
        case .list(let items): items.enumerated().flatMap { flatten($0.element, "\(path)[\($0.offset)]") }
        default: [(path, value.text(revealingSecrets: false))]
        }
    }

    /// What changed from `old` to this plan, one line per changed item, the hosts it concerns
    /// grouped, variables first: `variable version: "2.0.0" → "3.0.0" (web1, web2)`; an item that
    /// changed differently per host is shown with one example.
    public func changes(from old: ResolvedPlan) -> [String] {
        func split(_ key: String) -> (base: String, host: String?) {
            guard let at = key.range(of: " @", options: .backwards) else { return (key, nil) }
            return (String(key[..<at.lowerBound]), String(key[at.upperBound...]))
        }
        func describe(_ base: String, _ from: String?, _ to: String?) -> String {
            let name = base.hasPrefix("var ") ? "variable " + base.dropFirst(4) : base
            switch (from, to) {
            case (let from?, let to?): return "\(name): \"\(from)\" → \"\(to)\""
            case (nil, let to?): return "\(name) added: \"\(to)\""
            case (let from?, nil): return "\(name) removed (was \"\(from)\")"
            default: return name
            }
        }
        let before = Dictionary(old.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        // Per item (key without host): which hosts changed, and how.
        var order: [String] = []
        var changed: [String: [(host: String?, from: String?, to: String?)]] = [:]
        func note(_ key: String, _ from: String?, _ to: String?) {
            let (base, host) = split(key)
            if changed[base] == nil { order.append(base) }
            changed[base, default: []].append((host, from, to))
        }
        for entry in old.entries where after[entry.key] != entry.value { note(entry.key, entry.value, after[entry.key]) }
        for entry in entries where before[entry.key] == nil { note(entry.key, nil, entry.value) }
        let sorted = order.filter { $0.hasPrefix("var ") } + order.filter { !$0.hasPrefix("var ") }
        return sorted.map { base in
            let items = changed[base] ?? []
            let hosts = items.compactMap(\.host)
            let suffix = hosts.isEmpty ? "" : " (\(hosts.joined(separator: ", ")))"
            let first = items[0]
            if items.allSatisfy({ $0.from == first.from && $0.to == first.to }) {
                return describe(base, first.from, first.to) + suffix
            }
            let how =
                switch (first.from, first.to) {
                case (let from?, let to?): "\"\(from)\" → \"\(to)\""
                case (nil, let to?): "added \"\(to)\""
                case (let from?, nil): "removed (was \"\(from)\")"
                default: "changed"
                }
            return "\(base) changed on \(hosts.count) host(s)\(suffix); on \(first.host ?? "one"): \(how)"
        }
    }
}
