import Foundation
import Playbook

extension Executor {
    /// Takes the environment lock on every connected host, so two controllers with two stores cannot
    /// go live on the same servers at once. Returns the refusal (naming the holder), or nil.
    func takeHostLocks(_ hosts: [String]) async -> String? {
        let formatter = ISO8601DateFormatter()
        let info = [
            "run=\(options.runID)", "operator=\(options.operatorName)",
            "controller=\(ProcessInfo.processInfo.hostName)", "pid=\(ProcessInfo.processInfo.processIdentifier)",
            "started=\(formatter.string(from: started))",
        ].joined(separator: "\n")
        let results = await forEachHost(hosts) { executor, host in await executor.takeHostLock(host, info: info) }
        let refusals = results.compactMapValues { $0 }
        guard !refusals.isEmpty else { return nil }
        await releaseHostLocks(hosts.filter { refusals[$0] == nil })
        return refusals.keys.sorted().map { "\($0): \(refusals[$0] ?? "")" }.joined(separator: "; ")
    }

    private func takeHostLock(_ host: String, info: String) async -> String? {
        guard let connection = connections[host] else { return "not connected" }
        let script = HostLock.takeScript(environment: environment, host: host, runID: options.runID, info: info)
        do {
            let outcome = try await connection.run(script, timeout: .seconds(30), output: nil)
            let lines = outcome.stdoutText.split(separator: "\n").map(String.init)
            switch lines.first {
            case "TAKEN", "OURS":
                await emit(event(.lockTaken, host: host, status: "ok", message: "lock \(environment) taken on \(host)"))
                return nil
            case "HELD":
                let fields = HostLock.fields(lines.dropFirst())
                let message =
                    "environment '\(environment)' is locked on \(host) by run \(fields["run"] ?? "?") "
                    + "(\(fields["operator"] ?? "?") on \(fields["controller"] ?? "?") pid \(fields["pid"] ?? "?"), since \(fields["started"] ?? "?"))"
                await emit(event(.lockTaken, host: host, status: "held", message: message))
                return message
            default:
                return "cannot take the lock: \(outcome.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))"
            }
        } catch {
            return "cannot take the lock: \(error)"
        }
    }

    /// Releases the host locks this run holds (all of them, or those of `hosts`). With
    /// `unrecorded`, also the locks that may have been taken without their event reaching the
    /// journal (a recovery: the lost controller may have died between the two); a lock is only ever
    /// removed when it carries this run's id.
    func releaseHostLocks(_ hosts: [String]? = nil, unrecorded: Bool = false) async {
        let targets = (hosts ?? state.hostOrder).filter { (unrecorded && connections[$0] != nil) || state[$0].lockHeld }
        _ = await forEachHost(targets) { executor, host in await executor.releaseHostLock(host) }
    }

    private func releaseHostLock(_ host: String) async -> String? {
        if connections[host] == nil { _ = await reconnect(host) }
        guard let connection = connections[host] else { return "unreachable" }
        let script = HostLock.releaseScript(environment: environment, host: host, runID: options.runID)
        _ = try? await connection.run(script, timeout: .seconds(30), output: nil)
        await emit(event(.lockReleased, host: host, status: "ok", message: "lock \(environment) released on \(host)"))
        return nil
    }
}
