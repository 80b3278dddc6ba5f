import Foundation
import Playbook
import System

/// The maintenance window: whether a run may start now (refused before it opens, unless told to
/// wait; refused at or after the rollback point; refused when the rehearsal's timings do not fit),
/// and the watch that stops a running go-live at the rollback point. Its inputs are the window and
/// the run's options; it records through `record` and changes nothing else.
struct WindowGuard {
    /// The playbook's window, if it declares one.
    let window: Window?
    /// The run's options (kind, `--ignore-window`, `--wait-for-window`, the rehearsal's prediction).
    let options: RunOptions

    private func event(_ kind: RunEvent.Kind, status: String, message: String) -> RunEvent {
        RunEvent(runID: options.runID, kind: kind, status: status, message: message)
    }

    /// Refuses a run outside its window (or waits, or records the override). Returns the refusal.
    func check(record: @Sendable (RunEvent) async -> Void, stopped: @Sendable () async -> Bool) async -> String? {
        guard let window else {
            await record(event(.windowChecked, status: "none", message: "no window declared"))
            return nil
        }
        if options.kind == .rehearse {
            await record(event(.windowChecked, status: "not-enforced", message: "rehearsal: window recorded, not enforced"))
            return nil
        }
        if let reason = options.ignoreWindowReason {
            await record(event(.windowOverride, status: "ignored", message: reason))
            return nil
        }
        var now = Date()
        if now < window.start {
            if options.waitForWindow {
                await record(
                    event(
                        .windowChecked, status: "waiting",
                        message: "waiting for the window to open at \(Timestamp.seconds(window.start))"))
                try? await Task.sleep(for: .seconds(window.start.timeIntervalSince(now)))
                if await stopped() { return "interrupted while waiting for the window" }
                now = Date()
            } else {
                let message =
                    "outside the window: it opens at \(Timestamp.seconds(window.start)) (in \(Int(window.start.timeIntervalSince(now)))s); use --wait-for-window to wait"
                await record(event(.windowChecked, status: "refused", message: message))
                return message
            }
        }
        if now >= rollbackPoint(window) {
            let message =
                "past the window's rollback point (\(Timestamp.seconds(rollbackPoint(window)))): too late to start"
            await record(event(.windowChecked, status: "refused", message: message))
            return message
        }
        if let prediction = options.prediction {
            let fit = prediction.fit(window, startingAt: now)
            let message =
                "the rehearsal \(prediction.rehearsalID) (\(Timestamp.seconds(prediction.rehearsed))) predicts \(Int(prediction.run.rounded()))s"
                + (prediction.rollback.map { " and \(Int($0.rounded()))s to roll back" } ?? "")
                + "; rollback point \(Timestamp.seconds(fit.rollbackPoint)); margin \(Int(fit.margin.rounded()))s"
            await record(event(.prediction, status: fit.fits ? "fits" : "does-not-fit", message: message))
            if !fit.fits {
                let refusal = "the run cannot fit the window: \(message) (use --ignore-window --reason to go anyway)"
                await record(event(.windowChecked, status: "refused", message: refusal))
                return refusal
            }
        }
        await record(
            event(
                .windowChecked, status: "ok",
                message: "inside the window; rollback point in \(Int(rollbackPoint(window).timeIntervalSince(now)))s"))
        return nil
    }

    /// A task that aborts the run when the window's rollback point is reached.
    func watch(onReached: @escaping @Sendable () async -> Void) -> Task<Void, Never>? {
        guard options.kind == .run, options.ignoreWindowReason == nil, let window else { return nil }
        let point = rollbackPoint(window)
        return Task {
            let wait = point.timeIntervalSinceNow
            if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
            guard !Task.isCancelled else { return }
            await onReached()
        }
    }

    /// `end - max(rollback_reserve, the rehearsed rollback time)`.
    func rollbackPoint(_ window: Window) -> Date {
        options.prediction?.fit(window, startingAt: Date()).rollbackPoint ?? window.rollbackPoint
    }
}
