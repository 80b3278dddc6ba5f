import Foundation
import System
import Yams

extension Playbook {
    /// Reads and checks a playbook file on its own (templates are checked against an inventory by
    /// ``Validator``).
    ///
    /// - Throws: ``ValidationFailure`` with every problem found in the file.
    public static func load(file: String) throws(ValidationFailure) -> (Playbook, warnings: [PlaybookError]) {
        let (playbook, diagnostics) = parse(file: file)
        if diagnostics.contains(where: { $0.severity == .error }) { throw ValidationFailure(diagnostics) }
        guard let playbook else { throw ValidationFailure(diagnostics) }
        return (playbook, diagnostics)
    }

    /// Reads a playbook as far as it can: the (possibly partial) playbook, without the steps that
    /// had errors, and every diagnostic. Lets callers check the rest against an inventory too.
    public static func parse(file: String) -> (Playbook?, [PlaybookError]) {
        let (reader, root) = YAMLReader.load(file: file)
        guard let root else { return (nil, reader.diagnostics) }
        let playbook = PlaybookParser(reader: reader).parse(root)
        let diagnostics = reader.diagnostics.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
        return (playbook?.plays.isEmpty == false ? playbook : nil, diagnostics)
    }
}

/// Builds a ``Playbook`` from YAML.
struct PlaybookParser {
    let reader: YAMLReader

    /// Keys of the playbook itself (title, window, sign-off, shared variables).
    static let documentKeys = ["name", "window", "owner", "contacts", "change_id", "description", "vars", "notify"] + BecomeSettings.keys
    /// Keys of a play (at the top in the single-play form, or an entry of `plays:`).
    static let playKeys = [
        "name", "hosts", "serial", "rollback_serial", "max_fail", "vars", "prechecks", "backup", "deploy", "health", "rollback",
    ] + BecomeSettings.keys
    static let topKeys = documentKeys + playKeys.filter { !documentKeys.contains($0) } + ["plays"]
    static let kinds = StepKind.allCases.map(\.rawValue)
    static let options = [
        "name", "when", "timeout", "retries", "delay", "until", "register", "rollback", "run_once", "ignore_errors", "owner",
        "approvers", "delegate_to", "throttle",
    ] + BecomeSettings.keys

    func parse(_ root: Node) -> Playbook? {
        if case .sequence = root {
            reader.error(
                .wrongType(expected: "a map of keys (name, hosts, deploy... or name, plays)"), root, "",
                hint: "several plays go under `plays:`, with the go-live's `name:` and `window:` beside it")
            return nil
        }
        guard let entries = reader.mapping(root, "", allowed: Self.topKeys) else { return nil }
        var playbook = Playbook(
            file: reader.file, name: "", title: nil, window: nil, metadata: Metadata(), vars: [:], plays: [], hasPlayList: false)
        let playList = entries.first { $0.key == "plays" }
        var sawName = false
        for entry in entries {
            let path = entry.key
            switch entry.key {
            case "name":
                if let name = reader.nonEmptyString(entry.value, path) {
                    playbook.name = name
                    playbook.title = reader.template(entry.value, path)
                    sawName = true
                }
            case "window": playbook.window = parseWindow(entry.value)
            case "notify": playbook.notify = NotifyParser(reader: reader).parse(entry.value, path)
            case "vars": playbook.vars = reader.variables(entry.value, path)
            case "owner": playbook.metadata.owner = reader.string(entry.value, path)
            case "change_id": playbook.metadata.changeID = reader.string(entry.value, path)
            case "description": playbook.metadata.description = reader.string(entry.value, path)
            case "contacts":
                if let items = reader.sequence(entry.value, path) {
                    playbook.metadata.contacts = items.enumerated().compactMap { reader.string($1, "\(path)[\($0)]") }
                }
            case "plays": break
            case "become", "become_user", "become_method": reader.become(entry.key, entry.value, path, into: &playbook.become)
            default:
                if playList != nil {
                    reader.error(
                        .conflict("`\(entry.key)` belongs in a play when the playbook has `plays:`"), entry.keyNode, entry.key,
                        hint: "move it into the play it is for (line \(reader.location(playList!.keyNode).line))")
                }
            }
        }
        if !sawName { reader.error(.missingKey("name"), at: reader.location(root), "", hint: "give the go-live a title: `name: billing 2.4.0 go-live`") }
        if let playList {
            playbook.hasPlayList = true
            guard let items = reader.sequence(playList.value, "plays") else { return nil }
            if items.isEmpty { reader.error(.invalidValue("`plays` is empty"), playList.value, "plays", hint: "a go-live needs at least one play") }
            var ids: [String: SourceLocation] = [:]
            for (index, item) in items.enumerated() {
                guard let playEntries = reader.mapping(item, "plays[\(index)]", allowed: ["id"] + Self.playKeys) else { continue }
                var id = "play\(index + 1)"
                if let idEntry = playEntries.first(where: { $0.key == "id" }), let text = reader.nonEmptyString(idEntry.value, "plays[\(index)].id") {
                    if text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                        id = text
                    } else {
                        reader.error(.invalidValue("'\(text)' is not a play id (letters, digits, _ and -)"), idEntry.value, "plays[\(index)].id")
                    }
                }
                if let first = ids[id] {
                    reader.error(.duplicate("play id '\(id)' is used twice (first at line \(first.line))"), item, "plays[\(index)].id")
                }
                ids[id] = reader.location(item)
                if !playEntries.contains(where: { $0.key == "name" }) {
                    reader.error(.missingKey("name"), item, "plays[\(index)]", hint: "say what the play does: `name: migrate the database`")
                }
                if let play = parsePlay(playEntries.filter { $0.key != "id" }, node: item, index: index, id: id) { playbook.plays.append(play) }
            }
        } else if let play = parsePlay(
            entries.filter { Self.playKeys.contains($0.key) && !(["name", "vars"] + BecomeSettings.keys).contains($0.key) }, node: root, index: 0,
            id: nil)
        {
            var single = play
            single.name = playbook.name
            single.vars = playbook.vars
            playbook.vars = [:]
            playbook.plays = [single]
        }
        return playbook.plays.isEmpty ? nil : playbook
    }

    /// One play from its entries; nil without `hosts:`.
    private func parsePlay(_ entries: [(key: String, keyNode: Node, value: Node)], node: Node, index: Int, id: String?) -> Play? {
        let prefix = id.map { "\($0)." } ?? ""
        var play = Play(
            index: index, id: id, name: "", hosts: "", hostsLocation: reader.location(node), serial: [.percent(100)], rollbackSerial: nil,
            maxFail: .count(0), vars: [:], prechecks: [], backup: [], deploy: [], health: nil, rollback: [], location: reader.location(node))
        var sawHosts = false, serialNode: Node?
        for entry in entries {
            let path = prefix + entry.key
            switch entry.key {
            case "name": play.name = reader.nonEmptyString(entry.value, path) ?? ""
            case "hosts":
                if let hosts = reader.nonEmptyString(entry.value, path) {
                    play.hosts = hosts
                    play.hostsLocation = reader.location(entry.value)
                    sawHosts = true
                }
            case "serial":
                serialNode = entry.value
                if let serial = parseSerial(entry.value, path) { play.serial = serial }
            case "rollback_serial": play.rollbackSerial = parseSerial(entry.value, path)
            case "max_fail":
                if let limit = parseFailLimit(entry.value, path) { play.maxFail = limit }
            case "vars": play.vars = reader.variables(entry.value, path)
            case "prechecks": play.prechecks = parseSteps(entry.value, .prechecks, play: index, id: id)
            case "backup": play.backup = parseSteps(entry.value, .backup, play: index, id: id)
            case "deploy": play.deploy = parseSteps(entry.value, .deploy, play: index, id: id)
            case "rollback": play.rollback = parseSteps(entry.value, .rollback, play: index, id: id)
            case "health": play.health = parseHealth(entry.value, path)
            default: reader.become(entry.key, entry.value, path, into: &play.become)
            }
        }
        if !sawHosts { reader.error(.missingKey("hosts"), node, String(prefix.dropLast()), hint: "say which hosts: `hosts: web` (a group, host or pattern)") }
        if play.deploy.isEmpty && !entries.contains(where: { $0.key == "deploy" }) {
            reader.error(.missingKey("deploy"), node, String(prefix.dropLast()), hint: "a play needs at least one deploy step")
        }
        let archived = play.backup.contains { if case .archive = $0.action { true } else { false } }
        for step in play.deploy where step.undoneByBackup && !archived {
            reader.error(
                .conflict("`rollback: backup` but the play has no `archive` backup to restore"), at: step.location, "\(step.id).rollback",
                hint: "add an `archive` step under `backup:` for the path this step changes, or give it its own `rollback:`")
        }
        for step in play.deploy where step.undoneByBackup && step.delegate != nil {
            reader.error(
                .conflict("`rollback: backup` on a delegated step: the play's archives back up its own hosts, not \(step.delegate?.description ?? "")"),
                at: step.location, "\(step.id).rollback", hint: "give it its own `rollback:` where it runs")
        }
        for step in play.prechecks + play.rollback + play.backup where step.undoneByBackup {
            if step.section == .backup {
                reader.error(.conflict("a backup step cannot be undone by the backup"), at: step.location, "\(step.id).rollback")
            }
        }
        for step in play.prechecks + play.rollback {
            if step.declaresUndo {
                reader.error(.conflict("a \(step.section.rawValue) step cannot have its own rollback"), at: step.location, "\(step.id).rollback")
            }
        }
        for step in play.allSteps {
            if case .gate = step.action, step.undo != nil, step.section != .prechecks && step.section != .rollback {
                reader.error(.conflict("a gate has nothing to roll back; remove `rollback:`"), at: step.location, "\(step.id).rollback")
            }
            if case .archive = step.action, step.section != .backup {
                reader.error(
                    .conflict("`archive` belongs in the backup section (its restore is the rollback)"), at: step.location, step.id)
            }
            if step.runOnce, case .gate = step.action {
                reader.error(.conflict("a gate is asked once per batch already; `run_once` does not apply"), at: step.location, "\(step.id).run_once")
            }
            if let delegate = step.delegate, let problem = Self.delegationProblem(step, delegate) {
                reader.error(.conflict(problem), at: step.location, "\(step.id).delegate_to")
            }
            if step.throttle != nil, step.section == .prechecks || step.section == .rollback {
                reader.error(.conflict("`throttle` applies to backup and deploy steps"), at: step.location, "\(step.id).throttle")
            }
        }
        // run_once steps change one host; with several batches the rollback could not be confined to it.
        if let serialNode, play.serial != [.percent(100)] {
            for step in play.deploy where step.runOnce && !step.declaresUndo {
                reader.error(
                    .conflict("run_once deploy step without a rollback in a rolling (serial) play: if a later batch fails, nothing could undo it"),
                    at: step.location, "\(step.id).run_once",
                    hint: "give it a `rollback:` or move it into its own play (declared serial at line \(reader.location(serialNode).line))")
            }
        }
        for section in [play.prechecks, play.backup, play.deploy, play.rollback] {
            var names: [String: SourceLocation] = [:]
            for step in section {
                if let first = names[step.name] {
                    reader.error(
                        .duplicate("step name '\(step.name)' is used twice in \(step.section.rawValue) (first at line \(first.line))"),
                        at: step.location, "\(step.id).name", hint: "step names identify steps on the timeline; make them unique")
                } else {
                    names[step.name] = step.location
                }
            }
        }
        return sawHosts ? play : nil
    }

    /// Why a step cannot run where `delegate_to:` sends it, or nil.
    static func delegationProblem(_ step: Step, _ delegate: Step.Delegate) -> String? {
        switch step.action {
        case .local: return "a `local` step runs on the controller already; `delegate_to` does not apply"
        case .gate: return "a gate is asked of the operator; `delegate_to` does not apply"
        case .http, .tcp: return "`\(step.action.kind)` checks are sent from the controller (or `via_host`); `delegate_to` does not apply"
        case .archive: return "an `archive` backs up the host it is for; `delegate_to` does not apply"
        case .upload, .template, .wait:
            return delegate == .controller ? "`\(step.action.kind)` cannot be delegated to the controller (use a `shell` step there)" : nil
        case .shell, .command: return nil
        }
    }

    private func parseSerial(_ node: Node, _ path: String) -> [BatchSize]? {
        if case .sequence = node {
            guard let items = reader.sequence(node, path) else { return nil }
            if items.isEmpty {
                reader.error(.invalidValue("serial list is empty"), node, path)
                return nil
            }
            let sizes = items.enumerated().compactMap { batchSize($1, "\(path)[\($0)]") }
            return sizes.count == items.count ? sizes : nil
        }
        return batchSize(node, path).map { [$0] }
    }

    private func batchSize(_ node: Node, _ path: String) -> BatchSize? {
        guard let scalar = reader.scalar(node, path, expected: "a number or a percentage") else { return nil }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%") {
            guard let percent = Int(text.dropLast()), (1...100).contains(percent) else {
                reader.error(.invalidValue("'\(text)' is not a percentage between 1% and 100%"), node, path)
                return nil
            }
            return .percent(percent)
        }
        guard let count = Int(text), count >= 1 else {
            reader.error(
                .invalidValue("'\(text)' is not a batch size"), node, path,
                hint: "write a number of hosts (2), a percentage (25%) or a list ([1, 25%, 100%])")
            return nil
        }
        return .count(count)
    }

    private func parseFailLimit(_ node: Node, _ path: String) -> FailLimit? {
        guard let scalar = reader.scalar(node, path, expected: "a number or a percentage") else { return nil }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%"), let percent = Int(text.dropLast()), (0...100).contains(percent) { return .percent(percent) }
        if let count = Int(text), count >= 0 { return .count(count) }
        reader.error(.invalidValue("'\(text)' is not a host count or a percentage (0-100%)"), node, path)
        return nil
    }

    private func parseWindow(_ node: Node) -> Window? {
        guard let entries = reader.mapping(node, "window", allowed: ["start", "end", "rollback_reserve", "downtime"]) else { return nil }
        var start: Date?, end: Date?, reserve = Duration.seconds(0), downtime: Duration?
        var endNode: Node?
        for entry in entries {
            let path = "window.\(entry.key)"
            switch entry.key {
            case "start": start = timestamp(entry.value, path)
            case "end":
                end = timestamp(entry.value, path)
                endNode = entry.value
            case "rollback_reserve": reserve = reader.duration(entry.value, path) ?? reserve
            case "downtime": downtime = reader.duration(entry.value, path)
            default: break
            }
        }
        if !entries.contains(where: { $0.key == "start" }) { reader.error(.missingKey("start"), node, "window") }
        if !entries.contains(where: { $0.key == "end" }) { reader.error(.missingKey("end"), node, "window") }
        guard let start, let end else { return nil }
        if end <= start {
            reader.error(.invalidValue("the window ends before it starts"), endNode ?? node, "window.end")
            return nil
        }
        if reserve.seconds >= end.timeIntervalSince(start) {
            reader.error(.invalidValue("rollback_reserve is as long as the whole window"), node, "window.rollback_reserve")
        }
        if let downtime, downtime.seconds > end.timeIntervalSince(start) {
            reader.error(.invalidValue("downtime is longer than the whole window"), node, "window.downtime")
        }
        return Window(start: start, end: end, rollbackReserve: reserve, downtime: downtime, location: reader.location(node))
    }

    private func timestamp(_ node: Node, _ path: String) -> Date? {
        guard let scalar = reader.scalar(node, path, expected: "an RFC 3339 timestamp") else { return nil }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        if let date = Timestamp.parse(text) { return date }
        reader.error(
            .invalidValue("'\(text)' is not an RFC 3339 timestamp with a UTC offset (a real date, an offset from -23:59 to +23:59)"), node, path,
            hint: "write e.g. 2026-11-28T22:00:00+08:00 (the offset is required)")
        return nil
    }

    private func parseHealth(_ node: Node, _ healthPath: String) -> Health? {
        guard let entries = reader.mapping(node, healthPath, allowed: ["interval", "duration", "failures_allowed", "probes"]) else {
            return nil
        }
        var health = Health(interval: .seconds(5), duration: .seconds(60), failuresAllowed: 0, probes: [])
        for entry in entries {
            let path = "\(healthPath).\(entry.key)"
            switch entry.key {
            case "interval": health.interval = reader.duration(entry.value, path, positive: true) ?? health.interval
            case "duration": health.duration = reader.duration(entry.value, path, positive: true) ?? health.duration
            case "failures_allowed": health.failuresAllowed = reader.int(entry.value, path, range: 0...1000) ?? 0
            case "probes":
                guard let items = reader.sequence(entry.value, path) else { continue }
                for (index, item) in items.enumerated() {
                    if let probe = parseProbe(item, "\(path)[\(index)]") { health.probes.append(probe) }
                }
            default: break
            }
        }
        if health.interval.seconds <= 0 { reader.error(.invalidValue("interval must be positive"), node, "\(healthPath).interval") }
        if health.probes.isEmpty { reader.error(.missingKey("probes"), node, healthPath, hint: "add at least one http, tcp, shell, log or metric probe") }
        return health
    }

    private func parseProbe(_ node: Node, _ path: String) -> Probe? {
        guard let entries = reader.mapping(node, path, allowed: ["http", "tcp", "shell", "log", "metric", "name"]) else { return nil }
        let checks = entries.filter { $0.key != "name" }
        guard checks.count == 1, let entry = checks.first else {
            reader.error(
                .invalidValue(
                    checks.isEmpty
                        ? "a probe needs one of http, tcp, shell, log, metric" : "a probe has one kind, found \(checks.map(\.key).joined(separator: " and "))"),
                node, path)
            return nil
        }
        let name = entries.first { $0.key == "name" }.flatMap { reader.string($0.value, "\(path).name") }
        let keyPath = "\(path).\(entry.key)"
        let check: Probe.Check
        switch entry.key {
        case "http":
            guard let http = parseHTTP(entry.value, keyPath) else { return nil }
            check = .http(http)
        case "tcp":
            guard let tcp = parseTCP(entry.value, keyPath) else { return nil }
            check = .tcp(tcp)
        case "log":
            guard let log = parseLog(entry.value, keyPath) else { return nil }
            check = .log(log)
        case "metric":
            guard let metric = parseMetric(entry.value, keyPath) else { return nil }
            check = .metric(metric)
        default:
            guard let command = reader.template(entry.value, keyPath) else { return nil }
            check = .shell(command)
        }
        let display: String
        switch check {
        case .http(let http): display = name ?? "GET \(http.url.source)"
        case .tcp(let tcp): display = name ?? "tcp \(tcp.host?.source ?? "host"):\(tcp.port)"
        case .log(let log): display = name ?? "log \(log.path.source)"
        case .metric: display = name ?? "metric " + (reader.describe(entry.value) == "a map" ? "" : reader.describe(entry.value))
        case .shell(let command): display = name ?? "shell \(command.source)"
        }
        return Probe(check: check, name: display.trimmingCharacters(in: .whitespaces), location: reader.location(node))
    }

    /// `log: { path: /var/log/app.log, match: "ERROR|Exception", max: 5, per: 1m }`
    private func parseLog(_ node: Node, _ path: String) -> LogCheck? {
        guard let entries = reader.mapping(node, path, allowed: ["path", "match", "max", "per"]) else { return nil }
        var file: Template?, match: String?, max = Bound.number(0), per = Duration.seconds(60)
        for entry in entries {
            let keyPath = "\(path).\(entry.key)"
            switch entry.key {
            case "path": file = reader.template(entry.value, keyPath)
            case "match":
                guard let text = reader.nonEmptyString(entry.value, keyPath) else { break }
                if text.contains("{{") {
                    reader.error(
                        .invalidValue("'\(text)' is a regular expression, not a template: its {{ }} would never be filled in"), entry.value, keyPath,
                        hint: "write the pattern itself, or escape the braces: \\{\\{")
                } else if (try? NSRegularExpression(pattern: text)) == nil {
                    reader.error(.invalidValue("'\(text)' is not a regular expression"), entry.value, keyPath)
                } else {
                    match = text
                }
            case "max":
                guard let text = reader.string(entry.value, keyPath) else { break }
                if let bound = Bound.parse(text), bound.value(baseline: 0).map({ $0 >= 0 }) ?? true {
                    max = bound
                } else {
                    reader.error(.invalidValue("'\(text)' is not a count or a baseline expression"), entry.value, keyPath, hint: "write 5, or baseline * 2")
                }
            default: per = reader.duration(entry.value, keyPath, positive: true) ?? per
            }
        }
        if !entries.contains(where: { $0.key == "path" }) { reader.error(.missingKey("path"), node, path) }
        if !entries.contains(where: { $0.key == "match" }) { reader.error(.missingKey("match"), node, path) }
        guard let file, let match else { return nil }
        return LogCheck(path: file, match: match, max: max, per: per)
    }

    /// `metric: { load1: "< 4", mem_available: "> 500MB", disk_free: { path: /srv, min: 2GB } }` or
    /// `metric: { command: "...", value: "< 100" }`.
    private func parseMetric(_ node: Node, _ path: String) -> MetricCheck? {
        guard let entries = reader.mapping(node, path, allowed: ["load1", "mem_available", "disk_free", "command", "value"]) else {
            return nil
        }
        func threshold(_ value: Node, _ keyPath: String) -> Threshold? {
            guard let text = reader.string(value, keyPath) else { return nil }
            guard let threshold = Threshold.parse(text) else {
                reader.error(
                    .invalidValue("'\(text)' is not a threshold"), value, keyPath, hint: "write < 4, > 500MB, >= 2GB or < baseline * 2")
                return nil
            }
            return threshold
        }
        var conditions: [MetricCondition] = []
        var command: Template?, value: Threshold?
        for entry in entries {
            let keyPath = "\(path).\(entry.key)"
            switch entry.key {
            case "load1": if let limit = threshold(entry.value, keyPath) { conditions.append(MetricCondition(source: .load1, threshold: limit)) }
            case "mem_available":
                if let limit = threshold(entry.value, keyPath) { conditions.append(MetricCondition(source: .memAvailable, threshold: limit)) }
            case "disk_free":
                guard let disk = reader.mapping(entry.value, keyPath, allowed: ["path", "min"]) else { break }
                let directory = disk.first { $0.key == "path" }.flatMap { reader.template($0.value, "\(keyPath).path") }
                var minimum: Bound?
                if let min = disk.first(where: { $0.key == "min" }), let text = reader.string(min.value, "\(keyPath).min") {
                    minimum = Bound.parse(text)
                    if minimum == nil { reader.error(.invalidValue("'\(text)' is not a size"), min.value, "\(keyPath).min", hint: "write 2GB or baseline * 0.5") }
                }
                if !disk.contains(where: { $0.key == "path" }) { reader.error(.missingKey("path"), entry.value, keyPath) }
                if !disk.contains(where: { $0.key == "min" }) { reader.error(.missingKey("min"), entry.value, keyPath) }
                if let directory, let minimum {
                    conditions.append(MetricCondition(source: .diskFree(directory), threshold: Threshold(.atLeast, minimum)))
                }
            case "command": command = reader.template(entry.value, keyPath)
            default: value = threshold(entry.value, keyPath)
            }
        }
        let hasCommand = entries.contains { $0.key == "command" }, hasValue = entries.contains { $0.key == "value" }
        if hasCommand != hasValue { reader.error(.missingKey(hasCommand ? "value" : "command"), node, path) }
        if let command, let value { conditions.append(MetricCondition(source: .command(command), threshold: value)) }
        if entries.isEmpty { reader.error(.invalidValue("a metric probe needs load1, mem_available, disk_free or command + value"), node, path) }
        return conditions.isEmpty ? nil : MetricCheck(conditions: conditions)
    }

    private func parseSteps(_ node: Node, _ section: Step.Section, play: Int, id: String?) -> [Step] {
        let prefix = id.map { "\($0)." } ?? ""
        guard let items = reader.sequence(node, prefix + section.rawValue) else { return [] }
        var steps: [Step] = []
        var registered: [String: SourceLocation] = [:]
        for (index, item) in items.enumerated() {
            guard var step = parseStep(item, section: section, index: index, play: play, id: id) else { continue }
            step.index = index
            if let name = step.register {
                if let first = registered[name] {
                    reader.error(.duplicate("'\(name)' is registered twice (first at line \(first.line))"), at: step.location, "\(step.id).register")
                }
                registered[name] = step.location
            }
            steps.append(step)
        }
        return steps
    }

    private func parseStep(_ node: Node, section: Step.Section, index: Int, play: Int, id: String?) -> Step? {
        let path = (id.map { "\($0)." } ?? "") + "\(section.rawValue)[\(index)]"
        guard let entries = reader.mapping(node, path, allowed: Self.kinds + Self.options) else { return nil }
        let kinds = entries.filter { Self.kinds.contains($0.key) }
        guard kinds.count == 1, let kindEntry = kinds.first else {
            if kinds.isEmpty {
                reader.error(
                    .invalidValue("a step needs exactly one kind, found none"), node, path,
                    hint: "kinds: \(Self.kinds.joined(separator: ", "))")
            } else {
                reader.error(
                    .invalidValue("a step has exactly one kind, found \(kinds.map(\.key).joined(separator: " and "))"),
                    kinds[1].keyNode, path, hint: "split it into \(kinds.count) steps")
            }
            return nil
        }
        let kindPath = "\(path).\(kindEntry.key)"
        var step = Step(
            name: "", action: .shell(Template(literal: "")), undo: nil, when: nil, timeout: nil, retries: 0, delay: .seconds(1),
            until: nil, register: nil, runOnce: false, ignoreErrors: false, location: reader.location(node), section: section,
            index: index)
        step.play = play
        step.playID = id
        var owner: String?
        var approvers: [String]?
        for entry in entries where entry.key != kindEntry.key {
            let keyPath = "\(path).\(entry.key)"
            switch entry.key {
            case "name": step.name = reader.nonEmptyString(entry.value, keyPath) ?? ""
            case "when": step.when = reader.template(entry.value, keyPath, condition: true)
            case "until": step.until = reader.template(entry.value, keyPath, condition: true)
            case "timeout": step.timeout = reader.duration(entry.value, keyPath, positive: true)
            case "retries": step.retries = reader.int(entry.value, keyPath, range: 0...100) ?? 0
            case "delay": step.delay = reader.duration(entry.value, keyPath) ?? step.delay
            case "register":
                if let name = reader.nonEmptyString(entry.value, keyPath) {
                    if name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) && !["host", "run", "plays", "groups", "hosts", "play", "batch", "loop"].contains(name) {
                        step.register = name
                    } else {
                        reader.error(.invalidValue("'\(name)' is not a valid variable name"), entry.value, keyPath)
                    }
                }
            case "rollback":
                // `rollback: none`: nothing to undo, said on purpose (a read-only command, a cache flush).
                if case .scalar(let scalar) = entry.value, scalar.string == "none" {
                    step.nothingToUndo = true
                } else if case .scalar(let scalar) = entry.value, scalar.string == "backup" {
                    // `rollback: backup`: the play's archive restores put back what it changes.
                    step.undoneByBackup = true
                } else {
                    step.undo = reader.template(entry.value, keyPath)
                }
            case "delegate_to":
                if let name = reader.nonEmptyString(entry.value, keyPath) {
                    if name.contains("{{") {
                        reader.error(
                            .invalidValue("`delegate_to` names an inventory host or `controller`, not a template"), entry.value, keyPath)
                    } else {
                        step.delegate = name == "controller" ? .controller : .host(name)
                        step.delegateLocation = reader.location(entry.value)
                    }
                }
            case "throttle": step.throttle = reader.int(entry.value, keyPath, range: 1...10000)
            case "run_once": step.runOnce = reader.bool(entry.value, keyPath) ?? false
            case "ignore_errors": step.ignoreErrors = reader.bool(entry.value, keyPath) ?? false
            case "owner": owner = reader.string(entry.value, keyPath)
            case "approvers": approvers = parseApprovers(entry.value, keyPath)
            default: reader.become(entry.key, entry.value, keyPath, into: &step.become)
            }
        }
        if step.until != nil && step.register == nil {
            reader.error(.missingKey("register"), node, "\(path).until", hint: "`until` tests the step's registered result")
        }
        if owner != nil && kindEntry.key != "gate" {
            reader.error(.conflict("`owner` applies to gates only"), node, "\(path).owner")
        }
        if approvers != nil && kindEntry.key != "gate" {
            reader.error(.conflict("`approvers` applies to gates only"), node, "\(path).approvers")
        }
        guard var action = StepKind(rawValue: kindEntry.key)?.parse(kindEntry.value, kindPath, with: self, owner: owner) else { return nil }
        if case .gate(var gate) = action, let approvers {
            gate.approvers = approvers
            action = .gate(gate)
        }
        step.action = action
        if step.name.isEmpty { step.name = Self.defaultName(action) }
        return step
    }

    static func defaultName(_ action: Step.Action) -> String {
        let text: String
        switch action {
        case .shell(let template), .local(let template): text = template.source
        case .command(let argv): text = argv.map(\.source).joined(separator: " ")
        case .upload(let transfer), .template(let transfer): text = "\(transfer.source.source) → \(transfer.destination.source)"
        case .archive(let archive): text = "archive \(archive.path.source)"
        case .http(let http): text = "GET \(http.url.source)"
        case .tcp(let tcp): text = "tcp \(tcp.host?.source ?? "host"):\(tcp.port)"
        case .wait(let wait):
            switch wait.condition {
            case .port(let port, _): text = "wait for port \(port)"
            case .file(let file): text = "wait for \(file.source)"
            case .command(let command): text = "wait until \(command.source)"
            }
        case .gate(let gate): text = gate.prompt.source
        }
        let line = text.split(separator: "\n").first.map(String.init) ?? text
        return line.count > 60 ? String(line.prefix(59)) + "…" : line
    }



}
