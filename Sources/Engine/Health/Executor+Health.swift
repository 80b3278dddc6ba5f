import Foundation
import Playbook

extension Executor {
    /// Watches a batch's hosts: a probe round every `interval` for `duration`. A host fails when it
    /// has more than `failures_allowed` failed rounds in a row. Returns the failed hosts and why.
    func watchHealth(_ health: Health, hosts: [String], batch: Int) async -> [String: String] {
        await emit(event(.phaseStarted, phase: .health, batch: batch, message: "\(hosts.count) host(s)"))
        // Logs are followed from here, the end of the batch's deploy: older lines do not count.
        await startFollowingLogs(health, hosts: hosts)
        let rounds = max(1, Int((health.duration.seconds / max(0.001, health.interval.seconds)).rounded(.down)))
        var watched = hosts
        var streak: [String: Int] = [:]
        var failed: [String: String] = [:]
        var done = 0
        for round in 1...rounds {
            if abortReason != nil || watched.isEmpty { break }
            done = round
            let begin = ContinuousClock.now
            let results = await forEachHost(watched) { executor, host in
                await executor.probeRound(health, host: host, batch: batch, phase: .health, round: round)
            }
            for (host, failure) in results {
                if let failure {
                    streak[host, default: 0] += 1
                    if streak[host, default: 0] > health.failuresAllowed {
                        failed[host] = "health: \(streak[host, default: 0]) failed round(s) in a row: \(failure)"
                    }
                } else {
                    streak[host] = 0
                }
            }
            watched.removeAll { failed[$0] != nil }
            // Stop as soon as a failure decides the batch: rollback must not wait for the next round.
            if watched.isEmpty || failed.count > play.playbook.maxFail.allowed(inBatchOf: hosts.count) { break }
            if round < rounds {
                let rest = health.interval - begin.duration(to: .now)
                if rest > .zero { try? await Task.sleep(for: rest) }
            }
        }
        // An interrupted watch is recorded as interrupted, with how far it got.
        let interrupted = abortReason != nil && failed.isEmpty
        await emit(
            event(
                .phaseFinished, phase: .health, batch: batch, status: interrupted ? "interrupted" : failed.isEmpty ? "ok" : "failed",
                message: interrupted ? "interrupted after \(done) of \(rounds) round(s)" : "\(done) of \(rounds) round(s)"))
        return failed
    }

    /// One round of every probe on a host; returns the first failure, or nil when all pass.
    func probeRound(_ health: Health, host: String, batch: Int?, phase: RunEvent.Phase, round: Int = 1) async -> String? {
        let context = hostContext(host)
        let begin = ContinuousClock.now
        var failures: [String] = []
        var checks: [String] = []
        for (index, probe) in health.probes.enumerated() {
            let action: Step.Action
            switch probe.check {
            case .http(let http): action = .http(http)
            case .tcp(let tcp): action = .tcp(tcp)
            case .shell(let command): action = .shell(command)
            case .log, .metric: continue  // one command for all of them, below
            }
            let step = Step(
                name: probe.name, action: action, undo: nil, when: nil, timeout: max(health.interval, .seconds(10)),
                retries: 0, delay: .zero, until: nil, register: nil, runOnce: false, ignoreErrors: false,
                location: probe.location, section: .deploy, index: index)
            let result = await perform(step, on: host, context: context, phase: phase, tag: "probe")
            checks.append(result.command)
            if !result.ok { failures.append("\(result.command): \(Self.summary(result))") }
        }
        // Log and metric probes: one command per round; their figures go to the console.
        let signalResult = await signalRound(health, host: host, baseline: false)
        failures += signalResult.failures
        if !signalProbes(health).isEmpty { checks.append(Self.signalCommand) }
        await emit(
            RunEvent(
                runID: options.runID, kind: .probeRound, time: Date(), phase: phase, batch: batch, host: host,
                status: failures.isEmpty ? "ok" : "failed", command: checks.joined(separator: "; "),
                message: failures.isEmpty ? nil : failures.joined(separator: "; "),
                stdout: signalResult.lines.isEmpty ? nil : signalResult.lines.joined(separator: "\n"),
                durationMS: Int(begin.duration(to: .now).seconds * 1000), attempt: round,
                details: signalResult.figures.details.isEmpty ? nil : signalResult.figures.details))
        return failures.first
    }
}
