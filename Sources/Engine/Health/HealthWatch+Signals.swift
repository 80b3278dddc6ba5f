import Foundation
import Playbook

/// The log and metric probes: one command per host per round, and the memory of where each log was read up to.
extension HealthWatch {
    /// The log and metric probes of a health section, with their indexes.
    static func signalProbes(_ health: Health) -> [(Int, Probe.Check)] {
        health.probes.enumerated().compactMap { index, probe in
            switch probe.check {
            case .log, .metric: (index, probe.check)
            default: nil
            }
        }
    }

    /// What a probe round's `command` says for the log and metric probes (their script is long).
    static let signalCommand = "log and metric probes"

    /// Runs the signal script on a host and parses it; a failure to run it is an error message.
    func readSignals(host: String, follow: Bool, context: TemplateContext, in run: isolated any RunControl) async -> Result<SignalReadings, SignalError> {
        do {
            let script = try SignalScript.build(Self.signalProbes(health), state: run.signalState(host), follow: follow, context: context)
            let result = try await StepActions(host: host, become: run.escalation(forProbesOf: play, on: host)).remote(script, timeout: max(health.interval, .seconds(10)), tag: "probe", in: run)
            guard result.ok else { return .failure(SignalError(message: "the probe command failed: \(StepRunner.summary(result))")) }
            return .success(SignalScript.parse(result.stdout))
        } catch let error as TemplateError {
            return .failure(SignalError(message: "template: \(error)"))
        } catch {
            return .failure(SignalError(message: "\(error)"))
        }
    }

    /// Notes where each log ends on `hosts` (the batch's deploy has just ended): only lines
    /// written from now on count.
    func startFollowingLogs(hosts: [String], in run: isolated any RunControl) async {
        guard Self.signalProbes(health).contains(where: { if case .log = $0.1 { true } else { false } }) else { return }
        _ = await run.eachHost(hosts) { host in await markLogPositions(host: host, in: run) }
    }

    func markLogPositions(host: String, in run: isolated any RunControl) async {
        guard case .success(let readings) = await readSignals(host: host, follow: false, context: run.hostContext(host, play: play), in: run) else { return }
        var memory = run.signalState(host)
        for (index, log) in readings.logs { memory.positions[index] = (log.inode, log.size) }
        memory.counts = [:]
        run.setSignalState(memory, for: host)
    }

    /// One round of the log and metric probes on a host: failures, figures for the console
    /// (`details`), and the newest matching log lines.
    func signalRound(host: String, baseline: Bool, in run: isolated any RunControl) async -> (failures: [String], figures: ProbeFigures, lines: [String]) {
        let probes = Self.signalProbes(health)
        guard !probes.isEmpty else { return ([], ProbeFigures(), []) }
        let context = run.hostContext(host, play: play)
        let readings: SignalReadings
        switch await readSignals(host: host, follow: true, context: context, in: run) {
        case .success(let read): readings = read
        case .failure(let error): return ([error.message], ProbeFigures(), [])
        }
        var memory = run.signalState(host)
        // The baselines measured in the pre-checks (on the timeline: a resumed run has them too).
        var baselines = run.state[host].baselines
        var figures = ProbeFigures()
        var failures: [String] = [], lines: [String] = []
        let now = Date()
        for (index, check) in probes {
            switch check {
            case .log(let log):
                guard let reading = readings.logs[index] else { continue }
                let path = (try? log.path.render(context, quoting: .plain).display) ?? log.path.source
                if memory.positions[index] == nil {
                    memory.positions[index] = (reading.inode, reading.size)
                    continue
                }
                memory.positions[index] = (reading.inode, reading.size)
                memory.counts[index, default: []].append((now, reading.count))
                memory.counts[index]?.removeAll { now.timeIntervalSince($0.time) > log.per.seconds }
                let inWindow = memory.counts[index, default: []].reduce(0) { $0 + $1.count }
                lines += reading.lines.map { "\(URL(fileURLWithPath: path).lastPathComponent): \($0)" }
                let label = "log \(URL(fileURLWithPath: path).lastPathComponent)"
                figures.figures[label] = String(inWindow)
                if baseline {
                    // Matching lines per `per`, from what one interval showed.
                    let rate = Double(reading.count) * log.per.seconds / max(0.001, health.interval.seconds)
                    baselines["\(index)"] = rate
                    figures.baselines["\(index)"] = rate
                    figures.shownBaselines[label] = ByteSize.format(rate, bytes: false)
                    continue
                }
                guard let limit = log.max.value(baseline: baselines["\(index)"]) else {
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
                    figures.figures[label] = ByteSize.format(value, bytes: false)
                    if baseline {
                        baselines[key] = value
                        figures.baselines[key] = value
                        figures.shownBaselines[label] = ByteSize.format(value, bytes: false)
                        if condition.threshold.bound.needsBaseline { continue }
                    }
                    switch condition.threshold.holds(value, baseline: baselines[key]) {
                    case .some(true): break
                    case .some(false):
                        let shown = ByteSize.format(value, bytes: condition.isBytes)
                        let limit = condition.threshold.bound.value(baseline: baselines[key]).map { ByteSize.format($0, bytes: condition.isBytes) } ?? "?"
                        failures.append("metric \(condition.name) = \(shown), needs \(condition.threshold.comparison.rawValue) \(limit) (\(condition.threshold))")
                    case .none: failures.append("metric \(condition.name): no baseline (the prechecks did not measure one)")
                    }
                }
            default:
                break
            }
        }
        run.setSignalState(memory, for: host)
        return (failures, figures, lines)
    }

    /// During the prechecks: the baseline of every log and metric probe on each host (one reading
    /// of the metrics; the logs followed for one interval), and the absolute metric thresholds
    /// checked before anything changes. Returns the hosts whose figures already fail.
    func measureBaselines(hosts: [String], in run: isolated any RunControl) async -> [String: String] {
        guard !Self.signalProbes(health).isEmpty else { return [:] }
        await startFollowingLogs(hosts: hosts, in: run)
        try? await Task.sleep(for: health.interval)
        let results = await run.eachHost(hosts) { host in await baselineRound(host: host, in: run) }
        return results.compactMapValues { $0 }
    }

    func baselineRound(host: String, in run: isolated any RunControl) async -> String? {
        let begin = ContinuousClock.now
        // The baselines go on the timeline with the round, so that a resumed run compares with the same ones.
        let (failures, figures, lines) = await signalRound(host: host, baseline: true, in: run)
        await run.emit(
            RunEvent(
                runID: run.options.runID, kind: .probeRound, time: Date(), phase: .precheck, host: host,
                status: failures.isEmpty ? "ok" : "failed", command: Self.signalCommand, message: failures.isEmpty ? "baseline" : failures.joined(separator: "; "),
                stdout: lines.isEmpty ? nil : lines.joined(separator: "\n"), durationMS: Int(begin.duration(to: .now).seconds * 1000),
                attempt: 0, details: figures.details))
        return failures.first
    }
}
