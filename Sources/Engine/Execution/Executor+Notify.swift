import Foundation
import Playbook
import System

/// The run's notifications: each committed event a target wants becomes a notification, queued
/// without waiting (``Notifier``); `late` and `rollback_point_near` are timed from the rehearsed
/// prediction and the window; every delivery is recorded on the timeline as a `notified` event;
/// the run's end is sent before it is recorded, and what is undelivered then is named in the
/// summary.
extension Executor {
    /// How long the run's end waits for notifications still on their way.
    static let notificationDrain: Duration = .seconds(3)

    /// Starts the notifier (once), if the run has targets.
    func startNotifications() {
        guard !notificationsStarted else { return }
        notificationsStarted = true
        let reachable = Notifier.reachable(playbook.notifyTargets, secrets: playbook.inventory.secrets, directory: options.playbookDirectory)
        guard !reachable.isEmpty else { return }
        notifier = Notifier(targets: reachable, retryDelay: options.notificationRetryDelay) { [weak self] delivery in
            await self?.record(delivery)
        }
        scheduleTimedNotifications(reachable.map(\.target))
    }

    private func record(_ delivery: Notifier.Delivery) async {
        guard !runFinishedRecorded else { return }
        let what = "\(delivery.kind.rawValue) \(delivery.target): \(delivery.event.rawValue)"
        let message =
            delivery.delivered
            ? "\(what) delivered in \(delivery.milliseconds) ms (\(delivery.detail))"
            : "\(what) not delivered after \(delivery.attempts) attempt(s): \(delivery.detail)"
        await emit(
            event(
                .notified, status: delivery.delivered ? "delivered" : "failed", message: message,
                details: [
                    "target": delivery.target, "event": delivery.event.rawValue, "attempts": String(delivery.attempts),
                    "latency_ms": String(delivery.milliseconds),
                ]))
    }

    /// The notification a committed event makes, if any.
    func notification(for event: RunEvent) -> Notification? {
        let kind: NotifyTarget.Event
        var next = "nothing: golive goes on (`golive watch \(options.runID)`)"
        switch event.kind {
        case .runStarted: kind = .runStarted
        case .gateAsked:
            kind = .gateWaiting
            let owner = event.details?["owner"].map { " (owner: \($0))" } ?? ""
            next = "answer it\(owner): golive answer \(options.runID) yes|no --reason TEXT"
        case .gateAnswered where event.status != "refused": kind = .gateAnswered
        case .hostFailed:
            kind = .hostFailed
            next = "nothing yet: golive rolls back what this run changed (`golive watch \(options.runID)`)"
        case .rollbackStarted: kind = .rollbackStarted
        case .rollbackFinished:
            kind = .rollbackFinished
            next = event.status == "complete" ? "nothing: the hosts are back" : "a person must act: see `golive report \(options.runID)`"
        case .attentionRequired where event.status != "store-recovered":
            kind = .attentionRequired
            next = "a person must act: see `golive report \(options.runID)`"
        default: return nil
        }
        return makeNotification(kind, event: event, next: next)
    }

    func makeNotification(_ kind: NotifyTarget.Event, event: RunEvent?, message: String? = nil, next: String) -> Notification {
        Notification(
            event: kind, runID: options.runID, kind: options.kind.rawValue, environment: environment, operatorName: options.operatorName,
            playbook: playbook.playbook.name, time: Date(), sequence: event?.sequence, host: event?.host, step: event?.stepName ?? event?.step,
            status: event?.status, message: message ?? event?.message ?? kind.rawValue, nextAction: next)
    }

    /// Sends the run's end, waits a little for what is on its way, and returns what was not delivered.
    func finishNotifications(_ outcome: RunOutcome) async -> [String] {
        timedNotifications.forEach { $0.cancel() }
        guard let notifier else { return [] }
        let next = outcome.exitCode == 0 || outcome.exitCode == 1 ? "nothing" : "a person must act: see `golive report \(options.runID)`"
        var ended = makeNotification(
            .runFinished, event: nil, message: "\(outcome.status)" + (outcome.reason.map { ": \($0)" } ?? ""), next: next)
        ended.status = outcome.result.rawValue
        notifier.send(ended)
        let left = await notifier.finish(within: Self.notificationDrain)
        self.notifier = nil
        let undelivered = Dictionary(grouping: left, by: { $0 }).map {
            "\($1.count) notification(s) to \($0) not delivered by the run's end: whoever it tells was not told"
        }.sorted()
        // On the record too, before the run's end.
        for text in undelivered { await emit(event(.attentionRequired, status: "not-notified", message: text)) }
        return undelivered
    }

    private func scheduleTimedNotifications(_ targets: [NotifyTarget]) {
        let begun = state.started ?? started
        for target in targets {
            if target.events.contains(.late), let prediction = options.prediction {
                let margin = target.lateMargin.map(\.seconds) ?? max(30, prediction.run / 10)
                let due = begun.addingTimeInterval(prediction.run + margin)
                schedule(at: due, target: target.name) { run in
                    await run.makeNotification(
                        .late, event: nil,
                        message: "the run has taken \(Int(Date().timeIntervalSince(begun))) s; the rehearsal \(prediction.rehearsalID) predicted \(Int(prediction.run)) s",
                        next: "decide whether to go on: `golive watch \(run.options.runID)`; Ctrl-C at the operator's terminal rolls back")
                }
            }
            if target.events.contains(.rollbackPointNear), let window = playbook.playbook.window {
                let point = effectiveRollbackPoint(window)
                let due = point.addingTimeInterval(-target.beforeRollbackPoint.seconds)
                schedule(at: due, target: target.name) { run in
                    await run.makeNotification(
                        .rollbackPointNear, event: nil,
                        message: "the window's rollback point is at \(Timestamp.seconds(point)): the run is rolled back then if it has not finished",
                        next: "finish or decide before \(Timestamp.seconds(point))")
                }
            }
        }
    }

    private func schedule(at due: Date, target: String, _ make: @escaping @Sendable (Executor) async -> Notification) {
        let task = Task { [weak self] in
            let wait = due.timeIntervalSinceNow
            if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
            guard !Task.isCancelled, let self else { return }
            await self.sendTimed(await make(self), to: target)
        }
        timedNotifications.append(task)
    }

    private func sendTimed(_ notification: Notification, to target: String) {
        guard !runFinishedRecorded, state.finished == nil else { return }
        notifier?.send(notification, only: target)
    }
}
