import Foundation
import Playbook

/// What the log and metric probes remember about one host during a run.
struct SignalState: Sendable {
    /// Where each log probe (by probe index) has read up to: the file's inode and byte offset.
    var positions: [Int: (inode: String, offset: Int)] = [:]
    /// Each log probe's matching-line counts, by round, for the sliding window.
    var counts: [Int: [(time: Date, count: Int)]] = [:]
    /// Baselines from the prechecks: `"I.J"` for metric I's condition J, `"I"` for log probe I
    /// (matching lines per `per`).
    var baselines: [String: Double] = [:]
}

/// One round's readings on a host, parsed from the signal script's output.
struct SignalReadings: Sendable {
    /// Per log probe: inode and size now, lines matched since the last position, newest lines.
    var logs: [Int: (inode: String, size: Int, count: Int, lines: [String])] = [:]
    /// Per metric condition `"I.J"`: the value read (nil when none could be read).
    var metrics: [String: Double?] = [:]
}

/// Builds the one shell script a round of log and metric probes runs on a host, and reads its output.
///
/// Every probe of a host shares the host's connection and this one command per round.
enum SignalScript {
    /// Lines of matched log output kept per probe and round.
    static let keptLines = 5

    /// The script for `probes` (index, check) given what was read before (`follow` false: only
    /// note where each log ends now, as the start of following it).
    static func build(_ probes: [(Int, Probe.Check)], state: SignalState, follow: Bool, context: TemplateContext) throws
        -> RenderedText
    {
        var text: [String] = [], display: [String] = [], secrets: [String] = []
        func add(_ line: String) {
            text.append(line)
            display.append(line)
        }
        func add(_ format: (String) -> String, _ rendered: RenderedText) {
            text.append(format(rendered.text))
            display.append(format(rendered.display))
            secrets += rendered.secrets
        }
        let count = """
            awk 'BEGIN { re = ENVIRON["GOLIVE_RE"] } $0 ~ re { c++; l[c % \(keptLines)] = $0 } \
            END { print "@@count " c + 0; for (i = c - \(keptLines - 1); i <= c; i++) if (i > 0) print "@@line " l[i % \(keptLines)] }'
            """
        for (index, check) in probes {
            switch check {
            case .log(let log):
                let path = try log.path.render(context, quoting: .shell)
                add({ "f=\($0)" }, path)
                add("if [ -r \"$f\" ]; then set -- $(stat -Lc '%i %s' -- \"$f\"); ino=$1; size=$2; else ino=0; size=0; fi")
                add("echo \"@@log \(index) $ino $size\"")
                guard follow, let position = state.positions[index] else { continue }
                let pattern = ShellQuoting.quote(log.match)
                // Same file, grown: read what was added. Rotated (new inode): the rest of the old
                // file, found by its inode, then the new file from its start. Truncated: from 0.
                add("start=0; if [ \"$ino\" = \(position.inode) ] && [ \"$size\" -ge \(position.offset) ]; then start=\(position.offset); fi")
                add(
                    "if [ \"$ino\" != \(position.inode) ]; then old=$(find \"$(dirname -- \"$f\")\" -maxdepth 1 -inum \(position.inode) 2>/dev/null | head -n 1); "
                        + "if [ -n \"$old\" ]; then tail -c +\(position.offset + 1) -- \"$old\" | GOLIVE_RE=\(pattern) \(count); fi; fi")
                add("if [ \"$size\" -gt \"$start\" ]; then tail -c +$((start + 1)) -- \"$f\" | head -c $((size - start)) | GOLIVE_RE=\(pattern) \(count); fi")
                add("echo \"@@end \(index)\"")
            case .metric(let metric):
                for (number, condition) in metric.conditions.enumerated() {
                    let key = "\(index).\(number)"
                    switch condition.source {
                    case .load1: add("echo \"@@metric \(key) $(cut -d' ' -f1 /proc/loadavg)\"")
                    case .memAvailable: add("echo \"@@metric \(key) $(awk '/^MemAvailable:/ { printf \"%.0f\", $2 * 1024 }' /proc/meminfo)\"")
                    case .diskFree(let path):
                        add(
                            { "echo \"@@metric \(key) $(df -Pk -- \($0) 2>/dev/null | awk 'NR == 2 { printf \"%.0f\", $4 * 1024 }')\"" },
                            try path.render(context, quoting: .shell))
                    case .command(let command):
                        add(
                            { "echo \"@@metric \(key) $( ( \($0) ) 2>/dev/null | grep -Eo '[-+]?[0-9]+([.][0-9]+)?' | tail -n 1)\"" },
                            try command.render(context, quoting: .shell))
                    }
                }
            default:
                break
            }
        }
        return RenderedText(text: text.joined(separator: "\n"), display: display.joined(separator: "\n"), secrets: secrets)
    }

    /// Reads the script's output.
    static func parse(_ output: String) -> SignalReadings {
        var readings = SignalReadings()
        var current: Int?
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("@@log ") {
                let fields = line.split(separator: " ")
                guard fields.count == 4, let index = Int(fields[1]) else { continue }
                readings.logs[index] = (String(fields[2]), Int(fields[3]) ?? 0, 0, [])
                current = index
            } else if line.hasPrefix("@@count "), let index = current {
                readings.logs[index]?.count += Int(line.dropFirst(8)) ?? 0
            } else if line.hasPrefix("@@line "), let index = current {
                readings.logs[index]?.lines.append(String(line.dropFirst(7)))
            } else if line.hasPrefix("@@end ") {
                current = nil
            } else if line.hasPrefix("@@metric ") {
                let fields = line.split(separator: " ", maxSplits: 2)
                guard fields.count >= 2 else { continue }
                readings.metrics[String(fields[1])] = fields.count == 3 ? Double(fields[2]) : Double?.none
            }
        }
        for (index, log) in readings.logs { readings.logs[index]?.lines = Array(log.lines.suffix(keptLines)) }
        return readings
    }
}

extension Executor {
    /// The log and metric probes of a health section, with their indexes.
    func signalProbes(_ health: Health) -> [(Int, Probe.Check)] {
        health.probes.enumerated().compactMap { index, probe in
            switch probe.check {
            case .log, .metric: (index, probe.check)
            default: nil
            }
        }
    }

    /// Runs the signal script on a host and parses it; a failure to run it is an error message.
    func readSignals(_ health: Health, host: String, follow: Bool) async -> (SignalReadings?, String, String?) {
        let probes = signalProbes(health)
        let context = play.context(for: host, run: runInfo, registered: registered[host] ?? [:])
        do {
            let script = try SignalScript.build(probes, state: signals[host] ?? SignalState(), follow: follow, context: context)
            let result = try await remote(script, on: host, timeout: max(health.interval, .seconds(10)))
            guard result.ok else { return (nil, "log and metric probes", "the probe command failed: \(Self.summary(result))") }
            return (SignalScript.parse(result.stdout), "log and metric probes", nil)
        } catch let error as TemplateError {
            return (nil, "log and metric probes", "template: \(error)")
        } catch {
            return (nil, "log and metric probes", "\(error)")
        }
    }

    /// Notes where each log ends on `hosts` (the batch's deploy has just ended): only lines
    /// written from now on count.
    func startFollowingLogs(_ health: Health, hosts: [String]) async {
        guard signalProbes(health).contains(where: { if case .log = $0.1 { true } else { false } }) else { return }
        _ = await forEachHost(hosts) { executor, host in
            await executor.markLogPositions(health, host: host)
            return nil
        }
    }

    func markLogPositions(_ health: Health, host: String) async {
        let (readings, _, _) = await readSignals(health, host: host, follow: false)
        guard let readings else { return }
        var state = signals[host] ?? SignalState()
        for (index, log) in readings.logs { state.positions[index] = (log.inode, log.size) }
        state.counts = [:]
        signals[host] = state
    }

    /// One round of the log and metric probes on a host: failures, figures for the console
    /// (`details`), and the newest matching log lines.
    func signalRound(_ health: Health, host: String, baseline: Bool) async -> (failures: [String], details: [String: String], lines: [String], command: String) {
        let probes = signalProbes(health)
        guard !probes.isEmpty else { return ([], [:], [], "") }
        let (read, command, error) = await readSignals(health, host: host, follow: true)
        guard let readings = read else { return ([error ?? "no readings"], [:], [], command) }
        var state = signals[host] ?? SignalState()
        var failures: [String] = [], details: [String: String] = [:], lines: [String] = []
        let now = Date()
        for (index, check) in probes {
            switch check {
            case .log(let log):
                guard let reading = readings.logs[index] else { continue }
                let path = (try? log.path.render(play.context(for: host, run: runInfo), quoting: .plain).display) ?? log.path.source
                if state.positions[index] == nil {
                    state.positions[index] = (reading.inode, reading.size)
                    continue
                }
                state.positions[index] = (reading.inode, reading.size)
                state.counts[index, default: []].append((now, reading.count))
                state.counts[index]?.removeAll { now.timeIntervalSince($0.time) > log.per.seconds }
                let inWindow = state.counts[index, default: []].reduce(0) { $0 + $1.count }
                lines += reading.lines.map { "\(URL(fileURLWithPath: path).lastPathComponent): \($0)" }
                let label = "log \(URL(fileURLWithPath: path).lastPathComponent)"
                details[label] = String(inWindow)
                if baseline {
                    // Matching lines per `per`, from what one interval showed.
                    let rate = Double(reading.count) * log.per.seconds / max(0.001, health.interval.seconds)
                    state.baselines["\(index)"] = rate
                    details["baseline \(label)"] = ByteSize.format(rate, bytes: false)
                    continue
                }
                guard let limit = log.max.value(baseline: state.baselines["\(index)"]) else {
                    failures.append("\(label): no baseline (the prechecks did not measure one)")
                    continue
                }
                if Double(inWindow) > limit {
                    failures.append(
                        "log \(path): \(inWindow) line(s) matching /\(log.match)/ in the last \(DurationSyntax.format(log.per)), more than \(ByteSize.format(limit, bytes: false)) (max \(log.max))"
                    )
                }
            case .metric(let metric):
                for (number, condition) in metric.conditions.enumerated() {
                    let key = "\(index).\(number)"
                    let label = metric.conditions.filter({ $0.name == condition.name }).count > 1 || probes.count > 1 ? "\(condition.name)#\(index + 1)" : condition.name
                    guard let read = readings.metrics[key], let value = read else {
                        failures.append("metric \(condition.name): no value could be read")
                        continue
                    }
                    details[label] = ByteSize.format(value, bytes: false)
                    if baseline {
                        state.baselines[key] = value
                        details["baseline \(label)"] = ByteSize.format(value, bytes: false)
                        if condition.threshold.bound.needsBaseline { continue }
                    }
                    switch condition.threshold.holds(value, baseline: state.baselines[key]) {
                    case .some(true): break
                    case .some(false):
                        let shown = ByteSize.format(value, bytes: condition.isBytes)
                        let limit = condition.threshold.bound.value(baseline: state.baselines[key]).map { ByteSize.format($0, bytes: condition.isBytes) } ?? "?"
                        failures.append("metric \(condition.name) = \(shown), needs \(condition.threshold.comparison.rawValue) \(limit) (\(condition.threshold))")
                    case .none: failures.append("metric \(condition.name): no baseline (the prechecks did not measure one)")
                    }
                }
            default:
                break
            }
        }
        if baseline {
            // Kept on the timeline so that a resumed run compares with the same baselines.
            details["baselines"] = state.baselines.keys.sorted().map { "\($0)=\(state.baselines[$0] ?? 0)" }.joined(separator: ";")
        }
        signals[host] = state
        return (failures, details, lines, command)
    }

    /// During the prechecks: the baseline of every log and metric probe on each host (one reading
    /// of the metrics; the logs followed for one interval), and the absolute metric thresholds
    /// checked before anything changes. Returns the hosts whose figures already fail.
    func measureBaselines(_ health: Health, hosts: [String]) async -> [String: String] {
        guard !signalProbes(health).isEmpty else { return [:] }
        await startFollowingLogs(health, hosts: hosts)
        try? await Task.sleep(for: health.interval)
        let results = await forEachHost(hosts) { executor, host in
            await executor.baselineRound(health, host: host)
        }
        return results.compactMapValues { $0 }
    }

    func baselineRound(_ health: Health, host: String) async -> String? {
        let begin = ContinuousClock.now
        let (failures, details, lines, command) = await signalRound(health, host: host, baseline: true)
        await emit(
            RunEvent(
                runID: options.runID, kind: .probeRound, time: Date(), phase: .precheck, host: host,
                status: failures.isEmpty ? "ok" : "failed", command: command, message: failures.isEmpty ? "baseline" : failures.joined(separator: "; "),
                stdout: lines.isEmpty ? nil : lines.joined(separator: "\n"), durationMS: Int(begin.duration(to: .now).seconds * 1000),
                attempt: 0, details: details))
        return failures.first
    }
}
