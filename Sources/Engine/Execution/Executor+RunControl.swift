import Foundation
import Playbook

/// The executor is the run its collaborators act on (``RunControl``).
extension Executor: RunControl {
    func connection(to host: String) -> (any HostConnection)? { connections[host] }

    func dropConnection(_ host: String) { connections[host] = nil }

    func learnSecrets(_ values: [String]) { redactor.learn(values) }

    func redact(_ text: String) -> String { redactor.redact(text) }

    func firstHostStopped(play: Int) {
        stoppedFirstHosts.insert(play)
        wakeRunOnceWaiters()
    }

    func acquire(_ step: String, limit: Int, inRollback: Bool) async -> Bool {
        if inRollback ? fenced : abortReason != nil { return false }
        let running = throttles[step]?.running ?? 0
        if running < limit {
            throttles[step, default: (0, [])].running = running + 1
            return true
        }
        // The slot is handed over by `release` (true), or the run stops (false).
        return await withCheckedContinuation { continuation in throttles[step, default: (0, [])].waiting.append(continuation) }
    }

    func release(_ step: String) {
        guard var throttle = throttles[step] else { return }
        if throttle.waiting.isEmpty {
            throttle.running = max(0, throttle.running - 1)
        } else {
            throttle.waiting.removeFirst().resume(returning: true)
        }
        throttles[step] = throttle
    }

    func signalState(_ host: String) -> SignalState { signals[host] ?? SignalState() }

    func setSignalState(_ value: SignalState, for host: String) { signals[host] = value }

    /// Waits for the `run_once` step's outcome on the first host; nil when the run is stopped first.
    func runOnceResult(_ step: String) async -> RunOnceResult? {
        while state.runOnce[step] == nil {
            if Task.isCancelled || abortReason != nil { return nil }
            if stoppedFirstHosts.contains(stepsByID[step]?.play ?? 0) { return .failed }
            await withCheckedContinuation { continuation in runOnceWaiters[step, default: []].append(continuation) }
        }
        return state.runOnce[step]
    }

    /// Resumes the hosts waiting for a `run_once` result (all of them when `step` is nil: the run is stopping).
    func wakeRunOnceWaiters(_ step: String? = nil) {
        let keys = step.map { [$0] } ?? Array(runOnceWaiters.keys)
        for key in keys {
            for waiter in runOnceWaiters[key] ?? [] { waiter.resume() }
            runOnceWaiters[key] = nil
        }
    }
}
