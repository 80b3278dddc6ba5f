import Foundation
import Playbook
import System

/// One notification: what happened in a run, as every target gets it. Its JSON body is versioned
/// (`"version": 1`; fields are only ever added), documented in docs/notifications.md.
public struct Notification: Sendable {
    public var event: NotifyTarget.Event
    public var runID: String
    public var kind: String
    public var environment: String
    public var operatorName: String
    public var playbook: String
    public var time: Date
    /// The timeline event it comes from (nil for `late`, `rollback_point_near` and `test`).
    public var sequence: Int64?
    public var host: String?
    public var step: String?
    public var status: String?
    public var message: String
    /// What a person should do next, in one line.
    public var nextAction: String
    /// A unique id of this notification (the same on every retry of it).
    public var id = StoreFreeID.make()

    /// Creates a notification.
    public init(
        event: NotifyTarget.Event, runID: String, kind: String, environment: String, operatorName: String, playbook: String, time: Date,
        sequence: Int64? = nil, host: String? = nil, step: String? = nil, status: String? = nil, message: String, nextAction: String
    ) {
        self.event = event
        self.runID = runID
        self.kind = kind
        self.environment = environment
        self.operatorName = operatorName
        self.playbook = playbook
        self.time = time
        self.sequence = sequence
        self.host = host
        self.step = step
        self.status = status
        self.message = message
        self.nextAction = nextAction
    }

    /// The JSON body every webhook and command target gets.
    public func body() -> Data {
        var object: [String: Any] = [
            "version": 1, "id": id, "event": event.rawValue, "time": Timestamp.milliseconds(time), "message": message,
            "next_action": nextAction,
            "run": ["id": runID, "kind": kind, "environment": environment, "operator": operatorName, "playbook": playbook],
        ]
        object["sequence"] = sequence
        object["host"] = host
        object["step"] = step
        object["status"] = status
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    /// The compact message of a Slack target: run, environment, operator, what happened, where, what next.
    public func slackBody() -> Data {
        var text = "*golive* \(kind) `\(runID)` on *\(environment)* (operator \(operatorName)): *\(event.rawValue.replacingOccurrences(of: "_", with: " "))*"
        let place = [host, step].compactMap { $0 }.joined(separator: " · ")
        if !place.isEmpty { text += " — \(place)" }
        text += "\n\(message)\nnext: \(nextAction)"
        return (try? JSONSerialization.data(withJSONObject: ["text": text], options: [.sortedKeys])) ?? Data()
    }
}

/// Ids that need no store: time and randomness.
public enum StoreFreeID {
    /// A new id (`n-` and 16 hex digits).
    public static func make() -> String { "n-" + String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }
}
