import Foundation
import Playbook

/// The health watch of a batch: a probe round on every host every `interval` for `duration`, a
/// host failing after more than `failures_allowed` failed rounds in a row; the same round confirms
/// a rolled-back host. Its memory of the logs (``SignalState``) is kept by the run, not the timeline:
/// a recovery watches afresh.
struct HealthWatch {
    /// The play's health section.
    let health: Health
    /// The play's index (its hosts' variables, its `max_fail`).
    let play: Int

    /// Watches a batch's hosts: a probe round every `interval` for `duration`. A host fails when it
    /// has more than `failures_allowed` failed rounds in a row. Returns the failed hosts and why.
    func watch(hosts: [String], batch: Int, in run: isolated any RunControl) async -> [String: String] {
        await run.emit(run.event(.phaseStarted, phase: .health, batch: batch, message: "\(hosts.count) host(s)"))
        // Logs are followed from here, the end of the batch's deploy: older lines do not count.
        await startFollowingLogs(hosts: hosts, in: run)
        let rounds = max(1, Int((health.duration.seconds / max(0.001, health.interval.seconds)).rounded(.down)))
        var watched = hosts
        var streak: [String: Int] = [:]
        var failed: [String: String] = [:]
        var done = 0
        for round in 1...rounds {
            if run.abortReason != nil || watched.isEmpty { break }
            done = round
            let begin = ContinuousClock.now
            let results = await run.eachHost(watched) { host in
                await probeRound(host: host, batch: batch, phase: .health, round: round, in: run)
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
            if watched.isEmpty || failed.count > run.playbook.plays[play].play.maxFail.allowed(inBatchOf: hosts.count) { break }
            if round < rounds {
                let rest = health.interval - begin.duration(to: .now)
                if rest > .zero { try? await Task.sleep(for: rest) }
            }
        }
        // An interrupted watch is recorded as interrupted, with how far it got.
        let interrupted = run.abortReason != nil && failed.isEmpty
        await run.emit(
            run.event(
                .phaseFinished, phase: .health, batch: batch, status: interrupted ? "interrupted" : failed.isEmpty ? "ok" : "failed",
                message: interrupted ? "interrupted after \(done) of \(rounds) round(s)" : "\(done) of \(rounds) round(s)"))
        return failed
    }

    /// One round of every probe on a host; returns the first failure, or nil when all pass.
    func probeRound(host: String, batch: Int?, phase: RunEvent.Phase, round: Int = 1, in run: isolated any RunControl) async -> String? {
        let context = run.hostContext(host, play: play)
        let begin = ContinuousClock.now
        var failures: [String] = []
        var checks: [String] = []
        for probe in health.probes {
            let action: Step.Action
            switch probe.check {
            case .http(let http): action = .http(http)
            case .tcp(let tcp): action = .tcp(tcp)
            case .shell(let command): action = .shell(command)
            case .log, .metric: continue  // one command for all of them, below
            }
            let result = await StepActions(host: host, become: run.escalation(forProbesOf: play, on: host)).attempt(
                action, name: probe.name, timeout: max(health.interval, .seconds(10)), context: context, tag: "probe", in: run)
            checks.append(result.command)
            if !result.ok { failures.append("\(result.command): \(StepRunner.summary(result))") }
        }
        // Log and metric probes: one command per round; their figures go to the console.
        let signalResult = await signalRound(host: host, baseline: false, in: run)
        failures += signalResult.failures
        if !Self.signalProbes(health).isEmpty { checks.append(Self.signalCommand) }
        await run.emit(
            RunEvent(
                runID: run.options.runID, kind: .probeRound, time: Date(), phase: phase, batch: batch, host: host,
                status: failures.isEmpty ? "ok" : "failed", command: checks.joined(separator: "; "),
                message: failures.isEmpty ? nil : failures.joined(separator: "; "),
                stdout: signalResult.lines.isEmpty ? nil : signalResult.lines.joined(separator: "\n"),
                durationMS: Int(begin.duration(to: .now).seconds * 1000), attempt: round,
                details: signalResult.figures.details.isEmpty ? nil : signalResult.figures.details))
        return failures.first
    }
}
