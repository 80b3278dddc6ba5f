import Engine
import Foundation

/// A row read from either SQL store, by column name.
protocol StoreRow {
    /// The column as text (nil: NULL or absent).
    func text(_ column: String) -> String?
    /// The column as an integer (nil: NULL or absent).
    func integer(_ column: String) -> Int64?
    /// The column as a number (nil: NULL or absent).
    func real(_ column: String) -> Double?
}

extension StoreRow {
    func int(_ column: String) -> Int? { integer(column).map { Int($0) } }

    /// The run this `runs` row records.
    var runRecord: RunRecord {
        RunRecord(
            id: text("id") ?? "", playbook: text("playbook") ?? "", playbookFile: text("playbook_file") ?? "",
            inventoryFile: text("inventory_file") ?? "", environment: text("environment") ?? "", kind: text("kind") ?? "",
            status: text("status") ?? "", exitCode: int("exit_code"), operatorName: text("operator") ?? "",
            controller: text("controller") ?? "", started: text("started").flatMap(StoreTime.parse) ?? Date(timeIntervalSince1970: 0),
            finished: text("finished").flatMap(StoreTime.parse), reason: text("reason"),
            hosts: (text("hosts") ?? "").split(separator: ",").map(String.init), vars: text("vars") ?? "{}")
    }

    /// The event this `events` row holds.
    var runEvent: RunEvent {
        var event = RunEvent(
            runID: text("run_id") ?? "", kind: RunEvent.Kind(rawValue: text("kind") ?? "") ?? .runStarted,
            time: text("time").flatMap(StoreTime.parse) ?? Date(timeIntervalSince1970: 0))
        event.sequence = integer("seq")
        event.phase = text("phase").flatMap(RunEvent.Phase.init(rawValue:))
        event.batch = int("batch")
        event.host = text("host")
        event.step = text("step")
        event.stepName = text("step_name")
        event.status = text("status")
        event.exitCode = int("exit_code")
        event.command = text("command")
        event.message = text("message")
        event.stdout = text("stdout")
        event.stderr = text("stderr")
        event.outputOmitted = int("output_omitted")
        event.durationMS = int("duration_ms")
        event.attempt = int("attempt")
        if let details = text("details"), let data = details.data(using: .utf8) {
            event.details = try? JSONDecoder().decode([String: String].self, from: data)
        }
        return event
    }

    /// The orphan record this `spills` row keeps (nil: its events cannot be read).
    var orphanRecord: OrphanRecord? {
        guard let events = text("events").flatMap({ try? SpillJournal.decode($0) }) else { return nil }
        return OrphanRecord(
            id: text("id") ?? "", runID: text("run_id") ?? "", controller: text("controller") ?? "",
            created: text("created").flatMap(StoreTime.parse) ?? Date(timeIntervalSince1970: 0),
            replayed: text("replayed").flatMap(StoreTime.parse) ?? Date(timeIntervalSince1970: 0), replayedBy: text("replayed_by") ?? "",
            events: events)
    }

    /// The gate answer this `gate_answers` row keeps.
    var gateAnswer: GateAnswer {
        GateAnswer(
            id: integer("id") ?? 0, runID: text("run_id") ?? "", gate: integer("gate_seq") ?? 0, yes: text("answer") == "yes",
            identity: text("identity") ?? "", verified: (integer("verified") ?? 0) != 0, machine: text("machine") ?? "",
            reason: text("reason") ?? "", time: text("answered").flatMap(StoreTime.parse) ?? Date(timeIntervalSince1970: 0))
    }

    /// The backup this `artifacts` row records.
    var artifact: Artifact {
        Artifact(
            host: text("host") ?? "", step: text("step") ?? "", path: text("path") ?? "", archive: text("archive") ?? "",
            bytes: int("bytes"), sha256: text("sha256"))
    }

    /// The holder this `locks` row names; its lease as `lease` says, moved by `clockOffset`
    /// seconds (the reader's clock minus the store's, when the store keeps its own time).
    func lockHolder(environment: String, clockOffset: TimeInterval = 0) -> LockHeld {
        let seconds = real("lease_seconds") ?? 60
        return LockHeld(
            environment: environment, runID: text("run_id") ?? "", holder: text("operator") ?? "",
            controller: text("controller") ?? "",
            since: (text("since").flatMap(StoreTime.parse) ?? Date()).addingTimeInterval(clockOffset),
            lease: (text("lease").flatMap(StoreTime.parse) ?? Date()).addingTimeInterval(clockOffset),
            leaseLength: .milliseconds(Int(seconds * 1000)), token: text("token"))
    }
}
