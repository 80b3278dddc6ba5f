import Foundation

/// Checks a playbook and an inventory together: host patterns select hosts, and every template
/// resolves for every host it will run on.
public struct Validator: Sendable {
    /// Variables given with `--var`.
    public var extraVars: [String: Value]
    /// `--limit`.
    public var limit: String?

    /// Creates a validator.
    public init(extraVars: [String: Value] = [:], limit: String? = nil) {
        self.extraVars = extraVars
        self.limit = limit
    }

    /// What a registered result looks like at validate time.
    public static let registeredShape: Value = RegisteredValue.make()

    /// Placeholder run details for validation and plans.
    public static let placeholderRun: [String: Value] = [
        "id": .string("RUN-ID"), "kind": .string("run"), "started": .string("1970-01-01T00:00:00Z"),
        "environment": .string(""), "operator": .string(""),
    ]

    /// Validates the combination.
    ///
    /// - Throws: ``ValidationFailure`` with every problem found.
    public func validate(_ playbook: Playbook, _ inventory: Inventory) throws(ValidationFailure) -> ValidatedPlaybook {
        var diagnostics: [PlaybookError] = []
        var plays: [ValidatedPlay] = []
        for play in playbook.plays {
            let (validated, found) = select(play, playbook: playbook, inventory: inventory)
            diagnostics += found
            plays.append(validated)
        }
        if let limit, plays.allSatisfy({ $0.hosts.isEmpty }), diagnostics.isEmpty {
            let patterns = playbook.plays.map(\.hosts).joined(separator: "', '")
            diagnostics.append(
                PlaybookError(.unknownHost("--limit '\(limit)' leaves no host of '\(patterns)'"), at: .commandLine("limit"), keyPath: "--limit"))
        }
        let targets = Set(plays.flatMap { $0.hosts.map(\.name) })
        var delegates: [String] = []
        for step in playbook.allSteps {
            guard let name = step.delegate?.hostName else { continue }
            if inventory.host(named: name) == nil {
                diagnostics.append(
                    PlaybookError(
                        .unknownHost("delegate_to '\(name)' is not an inventory host"), at: step.delegateLocation ?? step.location,
                        keyPath: "\(step.id).delegate_to", hint: "name a host of the inventory, or `controller`"))
            } else if !targets.contains(name), !delegates.contains(name) {
                delegates.append(name)
            }
        }
        let fleet = Fleet(inventory)
        for index in plays.indices {
            let play = plays[index]
            plays[index].fleet = (fleet.groups, fleet.hosts)
            plays[index].scope = .map([
                "hosts": fleet.list(play.hostNames), "id": .string(play.play.id ?? ""), "name": .string(play.play.name),
            ])
            for (number, batch) in play.play.batches(of: play.hostNames).enumerated() {
                let value = Value.map(["hosts": fleet.list(batch), "number": .int(number + 1)])
                for host in batch { plays[index].batches[host] = value }
            }
        }
        var validated = ValidatedPlaybook(
            playbook: playbook, inventory: inventory, plays: plays,
            hosts: inventory.hosts.filter { targets.contains($0.name) },
            delegates: inventory.hosts.filter { delegates.contains($0.name) }, warnings: [])
        for play in plays where !play.hosts.isEmpty {
            diagnostics += undefinedReferences(play, in: validated)
            diagnostics += Self.archivesInsideTheirPath(play)
            diagnostics += Self.relativeDestinations(play)
            diagnostics += Self.templateFileDiagnostics(play, in: validated)
            diagnostics += UndoCoverage.uncovered(in: play).map(\.warning)
        }
        diagnostics += Self.archiveCollisions(validated)
        diagnostics += Self.becomeDiagnostics(validated)
        // tcp/wait hosts that name inventory hosts must exist.
        for step in playbook.allSteps {
            if case .tcp(let tcp) = step.action, let host = tcp.host, host.isLiteral, inventory.host(named: host.source) == nil,
                !Self.looksLikeAddress(host.source)
            {
                diagnostics.append(PlaybookError(.unknownHost("'\(host.source)' is not an inventory host"), at: host.location, keyPath: "\(step.id).tcp.host"))
            }
        }
        // The title is a template like any other string: rendered once, from the first host's view.
        if let title = playbook.title, !title.isLiteral, let first = plays.first(where: { !$0.hosts.isEmpty }), let host = first.hosts.first {
            do {
                validated.playbook.name = try title.render(
                    validated.context(for: host.name, play: first.play.index, run: Self.placeholderRun), quoting: .plain
                ).display
                if playbook.plays.count == 1 { validated.playbook.plays[0].name = validated.playbook.name }
            } catch {
                diagnostics.append(PlaybookError(.undefinedVariable(error.message), at: error.location, keyPath: "name"))
            }
        }
        // Notification targets: the inventory's, then the playbook's; every secret they name is the inventory's.
        validated.notifyTargets = inventory.notify + playbook.notify
        for target in validated.notifyTargets {
            var named: [String] = []
            if case .secret(let name) = target.address { named.append(name) }
            if let name = target.signingSecret { named.append(name) }
            for case .secret(let name) in target.headers.values { named.append(name) }
            for name in named where inventory.secrets[name] == nil {
                diagnostics.append(
                    PlaybookError(
                        .undefinedVariable("secret '\(name)' of notification target '\(target.name)': the inventory declares no such secret"),
                        at: target.location, keyPath: "notify"))
            }
        }
        let found = diagnostics + Self.shellDiagnostics(playbook)
        let sorted = found.sorted { ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column) }
        if sorted.contains(where: { $0.severity == .error }) { throw ValidationFailure(sorted) }
        validated.warnings = sorted
        return validated
    }

    /// A play's hosts (its pattern, then `--limit`) and their variables.
    private func select(_ play: Play, playbook: Playbook, inventory: Inventory) -> (ValidatedPlay, [PlaybookError]) {
        var diagnostics: [PlaybookError] = []
        let keyPath = (play.id.map { "\($0)." } ?? "") + "hosts"
        var hosts: [InventoryHost] = []
        do {
            hosts = try inventory.select(play.hosts)
        } catch {
            diagnostics.append(PlaybookError(.unknownHost(error.message), at: play.hostsLocation, keyPath: keyPath, hint: error.hint))
        }
        if let limit {
            do {
                let limited = Set(try inventory.select(limit).map(\.name))
                hosts = hosts.filter { limited.contains($0.name) }
                if hosts.isEmpty && diagnostics.isEmpty && playbook.plays.count == 1 {
                    diagnostics.append(
                        PlaybookError(.unknownHost("--limit '\(limit)' leaves no host of '\(play.hosts)'"), at: .commandLine("limit"), keyPath: "--limit"))
                } else if hosts.isEmpty && diagnostics.isEmpty {
                    diagnostics.append(
                        PlaybookError(
                            .conflict("--limit '\(limit)' leaves no host of play \(play.label) ('\(play.hosts)'): the play is skipped"),
                            at: play.hostsLocation, keyPath: keyPath, severity: .warning))
                }
            } catch {
                diagnostics.append(PlaybookError(.unknownHost(error.message), at: .commandLine("limit"), keyPath: "--limit", hint: error.hint))
            }
        } else if hosts.isEmpty && diagnostics.isEmpty {
            diagnostics.append(PlaybookError(.unknownHost("'\(play.hosts)' selects no host"), at: play.hostsLocation, keyPath: keyPath))
        }
        var variables: [String: [String: Value]] = [:]
        for host in hosts {
            variables[host.name] = Self.variables(for: host, playbook: playbook, play: play, inventory: inventory, extra: extraVars)
        }
        return (ValidatedPlay(play: play, hosts: hosts, variables: variables), diagnostics)
    }

    /// Every template of a play, per host: undefined variables grouped by location and path. Hosts
    /// whose variables have the same shape (names and nesting) resolve the same way: one of each is checked.
    private func undefinedReferences(_ play: ValidatedPlay, in playbook: ValidatedPlaybook) -> [PlaybookError] {
        var undefined: [String: (PlaybookError, [String])] = [:]
        var order: [String] = []
        var shapes: [String: [String]] = [:]
        var shapeOrder: [String] = []
        for host in play.hosts {
            let shape = Self.shape(of: play.variables[host.name] ?? [:])
            if shapes[shape] == nil { shapeOrder.append(shape) }
            shapes[shape, default: []].append(host.name)
        }
        for shape in shapeOrder {
            guard let members = shapes[shape], let representative = members.first else { continue }
            var context = playbook.context(for: representative, play: play.play.index, run: Self.placeholderRun)
            // Every play's pre-checks run before any play changes anything: no play's results yet.
            var precheckContext = context
            if playbook.playbook.hasPlayList { precheckContext.variables["plays"] = .map([:]) }
            func check(_ template: Template?, _ keyPath: String, precheck: Bool = false) {
                guard let template else { return }
                // Every branch of every block, each loop's body with its items bound.
                for error in template.unresolved(in: precheck ? precheckContext : context) {
                    let key = "\(error.location)|\(error.message)"
                    if undefined[key] == nil {
                        order.append(key)
                        undefined[key] = (Self.templateProblem(error, keyPath: keyPath, in: playbook, play: play.play.index, precheck: precheck), [])
                    }
                    undefined[key]?.1 += members
                }
            }
            for step in play.play.prechecks {
                check(step.when, "\(step.id).when", precheck: true)
                for (template, path) in Self.templates(of: step.action, step.id) { check(template, path, precheck: true) }
                if let name = step.register {
                    context.variables[name] = Self.registeredShape
                    precheckContext.variables[name] = Self.registeredShape
                }
                check(step.until, "\(step.id).until", precheck: true)
            }
            for step in play.play.backup + play.play.deploy {
                check(step.when, "\(step.id).when")
                for (template, path) in Self.templates(of: step.action, step.id) { check(template, path) }
                if let name = step.register { context.variables[name] = Self.registeredShape }
                check(step.until, "\(step.id).until")
                check(step.undo, "\(step.id).rollback")
            }
            for step in play.play.rollback {
                check(step.when, "\(step.id).when")
                for (template, path) in Self.templates(of: step.action, step.id) { check(template, path) }
            }
            let prefix = play.play.id.map { "\($0)." } ?? ""
            for (index, probe) in (play.play.health?.probes ?? []).enumerated() {
                for (template, path) in Self.templates(of: probe.check, "\(prefix)health.probes[\(index)]") { check(template, path) }
            }
        }
        var diagnostics: [PlaybookError] = []
        for key in order {
            guard let (error, lacking) = undefined[key] else { continue }
            var located = error
            if lacking.count < play.hosts.count {
                let names = lacking.prefix(5).joined(separator: ", ") + (lacking.count > 5 ? " and \(lacking.count - 5) more" : "")
                located.kind = .undefinedVariable("\(error.kind.message.replacingOccurrences(of: "undefined variable ", with: "")) for host \(names)")
                located.hint = "define it for every host (inventory vars, group vars or host vars), or use `| default(...)`"
            }
            diagnostics.append(located)
        }
        return diagnostics
    }

    /// Two `archive` steps (of any plays) writing the same file on one host: the second would
    /// overwrite the first's backup, and its restore would then refuse (or restore the wrong tree).
    static func archiveCollisions(_ playbook: ValidatedPlaybook) -> [PlaybookError] {
        var errors: [PlaybookError] = []
        var written: [String: Step] = [:]
        for play in playbook.plays {
            for step in play.play.backup {
                guard case .archive(let archive) = step.action else { continue }
                for host in play.hosts {
                    let context = playbook.context(for: host.name, play: play.play.index, run: placeholderRun)
                    guard let destination = try? archive.destination.render(context, quoting: .plain).text else { continue }
                    let key = host.name + "\u{0}" + normalized(destination)
                    if let first = written[key], first.id != step.id {
                        errors.append(
                            PlaybookError(
                                .conflict(
                                    "the archive \(destination) on \(host.name) is also written by '\(first.name)' (line \(first.location.line)): the second would overwrite the first's backup"
                                ), at: archive.destination.location, keyPath: "\(step.id).archive.to",
                                hint: "give each backup a file of its own, e.g. with the step's name in it"))
                        break
                    }
                    written[key] = step
                }
            }
        }
        return errors
    }

    /// A template problem found at validate as a diagnostic: an undefined name (with why, for an
    /// earlier play's result), or a loop over something that is not a list.
    static func templateProblem(
        _ error: TemplateError, keyPath: String, in playbook: ValidatedPlaybook, play: Int, precheck: Bool
    ) -> PlaybookError {
        // A missing name is quoted first (`'h.nmae' (did you mean ...)`); anything else is a value problem.
        if !error.message.hasPrefix("'") {
            return PlaybookError(.invalidValue(error.message), at: error.location, keyPath: keyPath)
        }
        var found = PlaybookError(.undefinedVariable(error.message), at: error.location, keyPath: keyPath)
        if error.message.hasPrefix("'"), let end = error.message.dropFirst().firstIndex(of: "'") {
            let path = error.message[error.message.index(after: error.message.startIndex)..<end].split(separator: ".").map(String.init)
            found.hint = playsHint(path, in: playbook, play: play, precheck: precheck)
        }
        return found
    }

    /// Why `plays.ID...` does not resolve, when the path is one: the play comes later (or is this
    /// one), the host is not one of its hosts, or a pre-check cannot see any play's results.
    static func playsHint(_ path: [String], in playbook: ValidatedPlaybook, play index: Int, precheck: Bool) -> String? {
        guard path.first == "plays", playbook.playbook.hasPlayList else { return nil }
        if precheck { return "pre-checks run before any play changes anything: no play's results exist yet" }
        guard path.count > 1 else { return nil }
        guard let target = playbook.plays.first(where: { $0.play.id == path[1] }) else {
            return "plays: " + playbook.plays.compactMap(\.play.id).joined(separator: ", ")
        }
        if target.play.index >= index { return "play \(path[1]) runs \(target.play.index == index ? "now" : "after this one"): only earlier plays' results can be read" }
        if path.count > 2, !target.hostNames.contains(path[2]) {
            return "play \(path[1]) runs on \(target.hostNames.joined(separator: ", "))"
        }
        let names = (target.play.prechecks + target.play.backup + target.play.deploy).compactMap(\.register)
        return "play \(path[1]) registers: \(names.isEmpty ? "nothing" : names.joined(separator: ", "))"
    }

    /// The files of `template:` steps, parsed and checked as the run will render them: a syntax
    /// error or an undefined variable is located in the template file, before anything runs.
    static func templateFileDiagnostics(_ play: ValidatedPlay, in playbook: ValidatedPlaybook) -> [PlaybookError] {
        var errors: [PlaybookError] = []
        let base = URL(fileURLWithPath: playbook.playbook.file).deletingLastPathComponent()
        guard let first = play.hosts.first?.name else { return [] }
        for step in play.play.allSteps {
            guard case .template(let transfer) = step.action,
                let source = try? transfer.source.render(playbook.context(for: first, play: play.play.index, run: placeholderRun), quoting: .plain).text
            else { continue }
            let url = source.hasPrefix("/") ? URL(fileURLWithPath: source) : base.appendingPathComponent(source)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                // Parsed at validate: a template that is not there (or is a directory) is refused before the run.
                errors.append(
                    PlaybookError(
                        .invalidValue("template file '\(source)' \(isDirectory.boolValue ? "is a directory" : "does not exist") (looked for \(url.path))"),
                        at: transfer.source.location, keyPath: "\(step.id).src"))
                continue
            }
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
                let size = attributes[.size] as? NSNumber, size.intValue <= YAMLReader.maxFileSize,
                let data = FileManager.default.contents(atPath: url.path)
            else { continue }  // too large or unreadable: reported by the step itself
            let template: Template
            do {
                template = try Template.parse(fileData: data, file: url.path)
            } catch {
                var located = error
                located.keyPath = "\(step.id).src"
                errors.append(located)
                continue
            }
            var registered = playbook.context(for: first, play: play.play.index, run: placeholderRun)
            for earlier in play.play.allSteps where earlier.register != nil { registered.variables[earlier.register ?? ""] = registeredShape }
            for error in template.unresolved(in: registered) {
                var problem = templateProblem(error, keyPath: "\(step.id).src", in: playbook, play: play.play.index, precheck: false)
                if case .undefinedVariable(let message) = problem.kind { problem.kind = .undefinedVariable(message + " (in the template file)") }
                errors.append(problem)
            }
        }
        return errors
    }

    /// Every template that becomes a shell command, with its key path.
    static func shellTemplates(_ playbook: Playbook) -> [(Template, String)] {
        playbook.plays.flatMap(shellTemplates)
    }

    /// Every template of a play that becomes a shell command, with its key path.
    static func shellTemplates(_ play: Play) -> [(Template, String)] {
        var out: [(Template, String)] = []
        for step in play.allSteps {
            switch step.action {
            case .shell(let template): out.append((template, "\(step.id).shell"))
            case .local(let template): out.append((template, "\(step.id).local"))
            case .wait(let wait):
                switch wait.condition {
                case .command(let command): out.append((command, "\(step.id).wait.command"))
                case .file, .port: break  // paths and addresses: quoted whole
                }
            default: break
            }
            if let undo = step.undo { out.append((undo, "\(step.id).rollback")) }
        }
        for (index, probe) in (play.health?.probes ?? []).enumerated() {
            let id = (play.id.map { "\($0)." } ?? "") + "health.probes[\(index)]"
            switch probe.check {
            case .shell(let command): out.append((command, "\(id).shell"))
            case .metric(let metric):
                for condition in metric.conditions {
                    switch condition.source {
                    case .command(let command): out.append((command, "\(id).metric.command"))
                    default: break
                    }
                }
            default: break
            }
        }
        return out
    }

    /// Placeholders in shell commands that no quoting makes safe (errors), and those a second
    /// shell parses again or marked `| raw` (warnings).
    static func shellDiagnostics(_ playbook: Playbook) -> [PlaybookError] {
        shellTemplates(playbook).flatMap { template, keyPath in
            template.shellDiagnostics.map { problem in
                PlaybookError(
                    problem.isError ? .invalidValue("placeholder: \(problem.message)") : .conflict(problem.message), at: problem.location,
                    keyPath: keyPath, hint: problem.isError ? "move the placeholder out of there, e.g. into a variable first" : nil,
                    severity: problem.isError ? .error : .warning)
            }
        }
    }

    /// An `archive` whose destination lies inside the path it backs up would be deleted by its own
    /// restore: refused for every host it resolves so on (the host checks again with symlinks resolved).
    static func archivesInsideTheirPath(_ play: ValidatedPlay) -> [PlaybookError] {
        var errors: [PlaybookError] = []
        for step in play.play.allSteps {
            guard case .archive(let archive) = step.action else { continue }
            var hosts: [String] = []
            var example: (path: String, destination: String)?
            for host in play.hosts {
                let context = play.context(for: host.name, run: placeholderRun)
                guard let path = try? archive.path.render(context, quoting: .plain).text,
                    let destination = try? archive.destination.render(context, quoting: .plain).text
                else { continue }
                if let problem = archivePathProblem(path, what: "path") ?? archivePathProblem(destination, what: "to") {
                    errors.append(
                        PlaybookError(
                            .invalidValue(problem + (play.hosts.count > 1 ? " (on \(host.name))" : "")),
                            at: (problem.hasPrefix("to") ? archive.destination : archive.path).location,
                            keyPath: "\(step.id).archive.\(problem.hasPrefix("to") ? "to" : "path")"))
                    break
                }
                let base = normalized(path), target = normalized(destination)
                guard base == "/" || target == base || target.hasPrefix(base + "/") else { continue }
                hosts.append(host.name)
                example = example ?? (base, target)
            }
            guard let example else { continue }
            let names = hosts.count == play.hosts.count ? "" : " (on \(hosts.prefix(5).joined(separator: ", "))\(hosts.count > 5 ? " and \(hosts.count - 5) more" : ""))"
            errors.append(
                PlaybookError(
                    .conflict("the archive \(example.destination) is inside the path it backs up, \(example.path)\(names): restoring it would delete it"),
                    at: archive.destination.location, keyPath: "\(step.id).archive.to",
                    hint: "store backups beside the path, e.g. \(URL(fileURLWithPath: example.path).deletingLastPathComponent().path)/backups/"))
        }
        return errors
    }

    /// `upload` and `template` destinations must be absolute: a relative one would depend on where
    /// the remote session starts. Refused for every host it resolves so on.
    static func relativeDestinations(_ play: ValidatedPlay) -> [PlaybookError] {
        var errors: [PlaybookError] = []
        for step in play.play.allSteps {
            let transfer: Transfer
            switch step.action {
            case .upload(let value), .template(let value): transfer = value
            default: continue
            }
            for host in play.hosts {
                let context = play.context(for: host.name, run: placeholderRun)
                guard let destination = try? transfer.destination.render(context, quoting: .plain).text else { continue }
                if destination.split(separator: "/").contains("..") {
                    // As rendered (a block or a value can build the `..` the literal check cannot see).
                    errors.append(
                        PlaybookError(
                            .invalidValue("dest '\(destination)' climbs out with '..'\(play.hosts.count > 1 ? " (on \(host.name))" : "")"),
                            at: transfer.destination.location, keyPath: "\(step.id).dest"))
                    break
                }
                guard !destination.hasPrefix("/") else { continue }
                errors.append(
                    PlaybookError(
                        .invalidValue("dest '\(destination)' is a relative path\(play.hosts.count > 1 ? " (on \(host.name))" : ""): it must be absolute"),
                        at: transfer.destination.location, keyPath: "\(step.id).dest", hint: "write the full path, e.g. /srv/app/\(destination)"))
                break
            }
        }
        return errors
    }

    /// Why an archive's `path` or `to` cannot be backed up and restored exactly, or nil.
    static func archivePathProblem(_ path: String, what: String) -> String? {
        if !path.hasPrefix("/") { return "\(what) '\(path)' is a relative path: it must be absolute" }
        if path.count > 1 && (path.hasSuffix("/") || path.hasSuffix("/.") || path.contains("/./") || path.contains("//")) {
            return "\(what) '\(path)' must be written without '.', '//' or a trailing '/'"
        }
        if path.contains("\n") { return "\(what) holds a newline" }
        return nil
    }

    /// A path with `.` and `..` resolved and no trailing slash (relative paths stay relative).
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty && parts.last != ".." { parts.removeLast() } else if !path.hasPrefix("/") { parts.append(part) }
            default: parts.append(part)
            }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// The names and nesting of a variable set, without the values.
    static func shape(of variables: [String: Value]) -> String {
        // Names, nesting and types: a list on one host and a string on another do not resolve alike.
        variables.keys.sorted().map { key in key + ":" + Template.shape(variables[key] ?? .null) }.joined(separator: ",")
    }

    static func looksLikeAddress(_ text: String) -> Bool {
        text.contains(".") || text.contains(":") || text == "localhost"
    }

    /// The variables of one host in a play: inventory all < groups (ancestors first) < host < playbook
    /// < play < `--var`, and `host.*`.
    static func variables(
        for host: InventoryHost, playbook: Playbook, play: Play, inventory: Inventory, extra: [String: Value]
    ) -> [String: Value] {
        var vars: [String: Value] = [:]
        for (name, source) in inventory.secrets { vars[name] = .secret(source.value ?? Secret("")) }
        for (key, value) in inventory.variables(of: host) { vars[key] = value }
        for (key, value) in playbook.vars { vars[key] = value }
        for (key, value) in play.vars { vars[key] = value }
        for (key, value) in extra { vars[key] = value }
        vars["host"] = .map([
            "name": .string(host.name), "address": .string(host.address), "port": .int(host.ssh.port ?? 22),
            "user": .string(host.ssh.user ?? ""), "groups": .list(host.groups.map(Value.string)),
        ])
        return vars
    }

    /// Names users bring from Ansible, and what golive calls them; kept beside the names golive
    /// defines (`variables(for:)`, `placeholderRun`) so that the two are changed together. A name
    /// golive comes to define itself must leave this table.
    public static let foreignNames: [String: String] = [
        "inventory_hostname": "golive calls it {{ host.name }}",
        "inventory_hostname_short": "golive calls it {{ host.name }}",
        "ansible_host": "golive calls it {{ host.address }}",
        "ansible_port": "golive calls it {{ host.port }}",
        "ansible_user": "golive calls it {{ host.user }}",
        "group_names": "golive calls it {{ host.groups }}",
        "hostvars": "golive calls it hosts: {{ hosts.NAME.vars.x }}",
        "item": "a loop names its own variable: {% for h in groups.web %}{{ h.name }}{% endfor %}",
        "ansible_facts": "golive gathers no facts: register a command's output instead (`register: name`, then {{ name.stdout }})",
    ]

    /// The templates inside an action, with their key paths.
    public static func templates(of action: Step.Action, _ id: String) -> [(Template, String)] {
        switch action {
        case .shell(let template): [(template, "\(id).shell")]
        case .local(let template): [(template, "\(id).local")]
        case .command(let argv): argv.enumerated().map { ($1, "\(id).command[\($0)]") }
        case .upload(let transfer), .template(let transfer): [(transfer.source, "\(id).src"), (transfer.destination, "\(id).dest")]
        case .archive(let archive): [(archive.path, "\(id).archive.path"), (archive.destination, "\(id).archive.to")]
        case .http(let http): [(http.url, "\(id).http.url")] + (http.contains.map { [($0, "\(id).http.contains")] } ?? [])
        case .tcp(let tcp): tcp.host.map { [($0, "\(id).tcp.host")] } ?? []
        case .wait(let wait):
            switch wait.condition {
            case .port(_, let host): host.map { [($0, "\(id).wait.host")] } ?? []
            case .file(let file): [(file, "\(id).wait.file")]
            case .command(let command): [(command, "\(id).wait.command")]
            }
        case .gate(let gate): [(gate.prompt, "\(id).gate")]
        }
    }

    /// The templates inside a probe.
    public static func templates(of check: Probe.Check, _ id: String) -> [(Template, String)] {
        switch check {
        case .http(let http): [(http.url, "\(id).http.url")] + (http.contains.map { [($0, "\(id).http.contains")] } ?? [])
        case .tcp(let tcp): tcp.host.map { [($0, "\(id).tcp.host")] } ?? []
        case .shell(let command): [(command, "\(id).shell")]
        case .log(let log): [(log.path, "\(id).log.path")]
        case .metric(let metric):
            metric.conditions.compactMap { condition in
                switch condition.source {
                case .diskFree(let path): (path, "\(id).metric.disk_free.path")
                case .command(let command): (command, "\(id).metric.command")
                default: nil
                }
            }
        }
    }
}
