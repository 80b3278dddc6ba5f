import Foundation
import Playbook
import System

/// The lock each server carries while a run changes it (a directory under the lock root, with the
/// run's fencing token): taken on every host before the first change, so two controllers with any
/// stores or inventories never change one server at once; released at the end, one attempt each.
/// The scripts are ``HostLock``'s, the same `unlock` runs.
enum HostLocks {
    /// Takes the lock on every connected host, so two controllers with any stores or inventories
    /// cannot change the same servers at once. In a recovery (`stopping` given) the lock is this
    /// run's already: its token is replaced first, then the commands of the steps the lost
    /// controller left unfinished are stopped — those that ran escalated (`escalated`: host → tag →
    /// escalation) through the same escalation as well, since the login user cannot signal another
    /// user's processes. Returns the refusal (naming the holder), or nil.
    static func take(
        _ hosts: [String], stopping: [String: [String]] = [:], escalated: [String: [String: Escalation]] = [:],
        in run: isolated any RunControl
    ) async -> String? {
        guard let token = run.token else { return nil }
        let lost = "this controller lost the run: the environment lock was taken over before it took the servers' locks"
        guard await run.stillHoldsLock() else { return lost }
        let info = info(in: run)
        let results = await run.eachHost(hosts) { host in
            if let refusal = await take(host, info: info, token: token, stopping: stopping[host] ?? [], in: run) { return Optional(refusal) }
            return await stopEscalated(escalated[host] ?? [:], on: host, in: run)
        }
        let refusals = results.compactMapValues { $0 }
        // A controller stopped between its lease's last refresh and this step (paused, partitioned)
        // may have been taken over meanwhile, and the servers recovered and released by its
        // successor: taking them is then no longer its right. Asked before the locks are taken and
        // again after, so a takeover decided while they were being taken is seen too; what it
        // took is given back (only a lock with its own token is removed).
        if refusals.isEmpty, await !run.stillHoldsLock() {
            await release(hosts, unrecorded: true, in: run)
            return lost
        }
        guard !refusals.isEmpty else { return nil }
        await release(hosts.filter { refusals[$0] == nil }, in: run)
        return refusals.keys.sorted().map { "\($0): \(refusals[$0] ?? "")" }.joined(separator: "; ")
    }

    /// The lock's info lines: the run, environment, operator, controller, pid and start. One field
    /// a line: a value cannot add lines (an operator name with a newline and `run=...`).
    static func info(in run: isolated any RunControl) -> String {
        [
            "run=\(run.options.runID)", "environment=\(run.environment)", "operator=\(run.options.operatorName)",
            "controller=\(ProcessInfo.processInfo.hostName)", "pid=\(ProcessInfo.processInfo.processIdentifier)",
            "started=\(Timestamp.seconds(run.started))",
        ]
        .map { String($0.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }) }
        .joined(separator: "\n")
    }

    /// Stops what a lost connection may have left running on `host` (the connection is back): the
    /// run's commands of `tags`, through the login's shell, and those that ran escalated (their tag's
    /// escalation) through the same escalation, each stop on the timeline. A command whose connection
    /// dropped goes on running on the server: a rollback must not undo under its feet.
    static func stopLeftRunning(_ tags: [String: Escalation?], on host: String, in run: isolated any RunControl) async {
        guard !tags.isEmpty, let connection = run.connection(to: host) else { return }
        let whose = "the command the lost connection left running"
        _ = await stop(tags.keys.sorted(), as: nil, on: connection, host: host, of: whose, in: run)
        let escalated = tags.compactMapValues { $0 }
        if let failure = await stopEscalated(escalated, on: host, of: whose, in: run) {
            await run.emit(run.event(.attentionRequired, phase: .rollback, host: host, status: "running", message: failure))
        }
    }

    /// Stops the lost controller's escalated commands on a host, each escalation's tags at once;
    /// returns why it could not (the recovery then refuses: a later one tries again).
    private static func stopEscalated(
        _ tags: [String: Escalation], on host: String, of whose: String = "the lost controller's command", in run: isolated any RunControl
    ) async -> String? {
        guard !tags.isEmpty, let connection = run.connection(to: host) else { return nil }
        let groups = Dictionary(grouping: tags.keys.sorted()) { tags[$0]! }
        for (escalation, tags) in groups.sorted(by: { $0.key.identity < $1.key.identity }) {
            if let failure = await stop(tags, as: escalation, on: connection, host: host, of: whose, in: run) {
                return "\(whose) \(tags.joined(separator: ", ")) on \(host) ran as \(escalation.user) and could not be stopped: \(failure)"
            }
        }
        return nil
    }

    /// Stops the commands of `tags` (``HostLock/escalatedStopScript(runID:tags:)``) through
    /// `escalation`, or as the login without one, and puts what it stopped on the timeline
    /// (`processStopped`, `whose` naming them); returns why it could not. The one way a recorded
    /// command is stopped from the run: at a timeout, a cancel, a recovery, a lost connection.
    static func stop(
        _ tags: [String], as escalation: Escalation?, on connection: any HostConnection, host: String, of whose: String,
        timeout: Duration = .seconds(60), in run: isolated any RunControl
    ) async -> String? {
        let script = HostLock.escalatedStopScript(runID: run.options.runID, tags: tags)
        let outcome: CommandOutcome
        do {
            if let escalation {
                outcome = try await connection.run(escalation.launcher, escalation: escalation, script: script, stdin: nil, timeout: timeout, output: nil)
            } else {
                outcome = try await connection.run(script, timeout: timeout, output: nil)
            }
        } catch {
            return "\(error)"
        }
        if let escalation, let refused = outcome.escalationFailure { return escalation.message(refused, host: host, login: connection.summary.user) }
        // As the login, what runs as another user is not this stop's (FOREIGN): its escalation's stop follows.
        for stop in HostLock.stopped(outcome.stdoutText.split(separator: "\n").map(String.init))
        where stop.status != "gone" && !(escalation == nil && stop.status == "foreign") {
            await run.emit(
                run.event(
                    .processStopped, host: host, status: stop.status,
                    message: "\(whose) \(stop.tag) (" + (escalation.map { "as \($0.description), " } ?? "")
                        + (stop.group == "0" ? "found by its marker" : "process group \(stop.group)") + ") on \(host): \(stop.how)"))
        }
        return outcome.succeeded ? nil : "the stop script failed (exit \(outcome.exitCode.map(String.init) ?? "?"))"
    }

    private static func take(
        _ host: String, info: String, token: String, stopping: [String], in run: isolated any RunControl
    ) async -> String? {
        guard let connection = run.connection(to: host) else { return "not connected" }
        let script = HostLock.takeScript(runID: run.options.runID, info: info, token: token, stopping: stopping)
        do {
            let outcome = try await connection.run(script, timeout: .seconds(60), output: nil)
            // What the server printed before the script (a banner from ~/.ssh/rc) is not the answer.
            let all = outcome.stdoutText.split(separator: "\n").map(String.init)
            let lines = Array(all.drop { !["TAKEN", "OURS", "HELD", "FENCED", "FAILED"].contains($0) })
            switch lines.first {
            case "TAKEN", "OURS":
                let gone = lines.first == "TAKEN" && !stopping.isEmpty
                await run.emit(
                    run.event(
                        .lockTaken, host: host, status: "ok",
                        message: gone
                            ? "the lock on \(host) was gone (something removed it while the run held it): taken afresh"
                            : "lock taken on \(host) for \(run.environment)"))
                for stop in HostLock.stopped(lines.dropFirst()) where stop.status != "foreign" {
                    await run.emit(
                        run.event(
                            .processStopped, host: host, status: stop.status,
                            message: "the lost controller's command \(stop.tag) (process group \(stop.group)) on \(host): \(stop.how)"))
                }
                return nil
            case "HELD":
                let fields = HostLock.fields(lines.dropFirst())
                let message =
                    "locked on \(host) by run \(fields["run"] ?? "?") of environment '\(fields["environment"] ?? "?")' "
                    + "(\(fields["operator"] ?? fields["owner"] ?? "?") on \(fields["controller"] ?? "?") pid \(fields["pid"] ?? "?"), since \(fields["started"] ?? "?"))"
                await run.emit(run.event(.lockTaken, host: host, status: "held", message: message))
                return message
            case "FENCED":
                // A later controller of this run has the server: this one must not touch it.
                let reason = lines.dropFirst().joined(separator: "; ")
                run.abort(.fenced, detail: "the lock on \(host) is another controller's: \(reason)")
                return "this controller lost the run: the lock on \(host) is \(reason)"
            case "FAILED":
                let reason = lines.dropFirst().joined(separator: "; ")
                await run.emit(run.event(.lockTaken, host: host, status: "failed", message: "cannot take the lock on \(host): \(reason)"))
                return "cannot take the lock on \(host): \(reason)"
            default:
                let detail = (outcome.stderrText + outcome.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines)
                return "cannot take the lock on \(host): exit \(outcome.exitCode.map(String.init) ?? "?")\(detail.isEmpty ? "" : ": \(detail)")"
            }
        } catch {
            return "cannot take the lock on \(host): \(error)"
        }
    }

    /// Releases the host locks this run holds (all of them, or those of `hosts`). With
    /// `unrecorded`, also the locks that may have been taken without their event reaching the
    /// journal (a recovery: the lost controller may have died between the two); a lock is only ever
    /// removed when it carries this run's id.
    static func release(_ hosts: [String]? = nil, unrecorded: Bool = false, in run: isolated any RunControl) async {
        let targets = (hosts ?? run.state.hostOrder).filter { (unrecorded && run.connection(to: $0) != nil) || run.state[$0].lockHeld }
        _ = await run.eachHost(targets) { host in await release(host, in: run) }
    }

    private static func release(_ host: String, in run: isolated any RunControl) async -> String? {
        // One attempt: the outcome is decided by now, and golive does not linger after it. A lock
        // left on an unreachable host is named on the timeline.
        var failure: String?
        // A connection a stuck command broke (closed after TERM and KILL) is opened afresh, once.
        for attempt in 1...2 {
            failure = nil
            if run.connection(to: host) == nil { failure = await run.connect(host) }
            guard failure == nil, let connection = run.connection(to: host) else { break }
            do {
                guard let token = run.token else { break }
                let outcome = try await connection.run(HostLock.releaseScript(runID: run.options.runID, token: token), timeout: .seconds(30), output: nil)
                if !outcome.succeeded { failure = "exit \(outcome.exitCode.map(String.init) ?? "?"): \(outcome.stderrText)" }
                break
            } catch let error as TransportError where error.kind == .connectionLost && attempt == 1 {
                run.dropConnection(host)
            } catch {
                failure = "\(error)"
                break
            }
        }
        if let failure {
            await run.emit(
                run.event(
                    .lockReleased, host: host, status: "failed",
                    message: "the lock on \(host) could not be released (\(failure)); remove \(HostLock.directory) there, or run `golive unlock \(run.environment) --reason ... -i INVENTORY` once it is reachable"))
            return failure
        }
        await run.emit(run.event(.lockReleased, host: host, status: "ok", message: "lock released on \(host)"))
        return nil
    }
}
