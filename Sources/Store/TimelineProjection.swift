import Engine
import Foundation
import System

/// The rows an event becomes, for either store: the event itself, and the derived rows (`runs`,
/// `step_results`, `probe_results`, `artifacts`) the queries read. Written once here, so the
/// SQLite and PostgreSQL stores cannot drift apart.
enum TimelineProjection {
    /// Bytes of stdout/stderr kept per event (first and last halves).
    static let outputLimit = 128 * 1024

    /// `text` cut to ``outputLimit`` (head and tail kept, a marker between), and how many bytes were cut.
    static func bounded(_ text: String?) -> (String?, Int) {
        // The capture's own cut line may come on top of the limit: cut again only beyond it.
        guard let text, text.utf8.count > outputLimit + 128 else { return (text, 0) }
        let bytes = Array(text.utf8)
        let half = outputLimit / 2
        let cut = bytes.count - 2 * half
        let head = String(decoding: bytes.prefix(half), as: UTF8.self)
        let tail = String(decoding: bytes.suffix(half), as: UTF8.self)
        return (head + OutputCapture.cutMarker(cut) + tail, cut)
    }

    /// The rows `event` (numbered, with its run id) is stored as, in the order they are written.
    static func writes(for event: RunEvent) -> [RowWrite] {
        let time = StoreTime.format(event.time)
        let (stdout, cutOut) = bounded(event.stdout)
        let (stderr, cutErr) = bounded(event.stderr)
        let omitted = (event.outputOmitted ?? 0) + cutOut + cutErr
        var details: String?
        if let map = event.details, let data = try? JSONSerialization.data(withJSONObject: map, options: [.sortedKeys]) {
            details = String(decoding: data, as: UTF8.self)
        }
        let run = StoreValue(event.runID)
        var rows: [RowWrite] = []
        if event.kind == .runStarted {
            let info = event.runStarted
            rows.append(
                RowWrite(
                    .insertIgnoring, "runs",
                    [
                        "id": run, "playbook": .text(info?.playbook ?? ""), "playbook_file": .text(info?.playbookFile ?? ""),
                        "inventory_file": .text(info?.inventoryFile ?? ""), "environment": .text(info?.environment ?? ""),
                        "kind": .text(info?.kind ?? "run"), "status": .text("running"), "operator": .text(info?.operatorName ?? ""),
                        "controller": .text("\(info?.controller ?? "") pid \(info?.pid ?? "")"), "started": .text(time),
                        "hosts": .text(info?.hosts ?? ""), "vars": .text(info?.vars ?? "{}"),
                    ]))
        }
        rows.append(
            RowWrite(
                .insert, "events",
                [
                    "run_id": run, "seq": StoreValue(event.sequence), "time": .text(time), "kind": .text(event.kind.rawValue),
                    "phase": StoreValue(event.phase?.rawValue), "batch": StoreValue(event.batch), "host": StoreValue(event.host),
                    "step": StoreValue(event.step), "step_name": StoreValue(event.stepName), "status": StoreValue(event.status),
                    "exit_code": StoreValue(event.exitCode), "command": StoreValue(event.command),
                    "message": StoreValue(event.message), "stdout": StoreValue(stdout), "stderr": StoreValue(stderr),
                    "output_omitted": StoreValue(omitted > 0 ? omitted : nil), "duration_ms": StoreValue(event.durationMS),
                    "attempt": StoreValue(event.attempt), "details": StoreValue(details),
                ]))
        switch event.kind {
        case .stepFinished, .rollbackStepFinished:
            rows.append(
                RowWrite(
                    .insert, "step_results",
                    [
                        "run_id": run, "seq": StoreValue(event.sequence), "host": .text(event.host ?? ""), "step": .text(event.step ?? ""),
                        "step_name": StoreValue(event.stepName), "phase": StoreValue(event.phase?.rawValue),
                        "attempt": StoreValue(event.attempt), "finished": .text(time), "status": .text(event.status ?? ""),
                        "exit_code": StoreValue(event.exitCode), "duration_ms": StoreValue(event.durationMS),
                        "command": StoreValue(event.command), "stdout": StoreValue(stdout), "stderr": StoreValue(stderr),
                        "output_omitted": StoreValue(omitted > 0 ? omitted : nil),
                    ]))
        case .probeRound:
            rows.append(
                RowWrite(
                    .insert, "probe_results",
                    [
                        "run_id": run, "seq": StoreValue(event.sequence), "host": .text(event.host ?? ""), "batch": StoreValue(event.batch),
                        "phase": StoreValue(event.phase?.rawValue), "round": StoreValue(event.attempt), "time": .text(time),
                        "status": .text(event.status ?? ""), "message": StoreValue(event.message),
                        "duration_ms": StoreValue(event.durationMS),
                    ]))
        case .backupRecorded:
            guard let backup = event.backup else { break }
            rows.append(
                RowWrite(
                    .upsert(key: ["run_id", "host", "step"]), "artifacts",
                    [
                        "run_id": run, "host": .text(event.host ?? ""), "step": .text(event.step ?? ""), "path": .text(backup.path),
                        "archive": .text(backup.archive), "bytes": StoreValue(backup.size), "sha256": StoreValue(backup.sha256),
                        "existed": StoreValue(Int(backup.existed)), "time": .text(time),
                    ]))
        case .runFinished:
            rows.append(
                RowWrite(
                    .update(matching: ["id"]), "runs",
                    [
                        "status": .text(event.status ?? "failed"), "exit_code": StoreValue(event.runFinished?.exitCode),
                        "finished": .text(time), "reason": StoreValue(event.message), "id": run,
                    ]))
        case .runResumed:
            rows.append(RowWrite(.update(matching: ["id"]), "runs", ["status": .text("running"), "finished": .null, "id": run]))
        default:
            break
        }
        return rows
    }

    /// The event `golive unlock` records on the timeline of the run whose lock it released.
    static func lockReleased(runID: String, sequence: Int64, operatorName: String, reason: String) -> RunEvent {
        var event = RunEvent(
            runID: runID, kind: .lockReleased, status: "unlocked", message: "released by \(operatorName) with `golive unlock`: \(reason)")
        event.sequence = sequence
        return event
    }
}

/// Timestamps as stored: RFC 3339 with milliseconds, UTC.
enum StoreTime {
    /// `2026-11-25T12:26:14.123Z`, without a formatter object (one is costly to make, and the
    /// journal stamps every event).
    static func format(_ date: Date) -> String { Timestamp.milliseconds(date) }

    static func parse(_ text: String) -> Date? { Timestamp.parse(text) }
}
