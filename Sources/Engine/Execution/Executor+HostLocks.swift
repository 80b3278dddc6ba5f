import Foundation
import Playbook

extension Executor {
    /// Where a host keeps the lock of an environment: a directory created atomically (`mkdir`).
    func hostLockPath(_ host: String) -> String {
        "\"$HOME\"/.golive/locks/" + ShellQuoting.quote("\(environment)@\(host)")
    }

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
        let lock = hostLockPath(host)
        let script = """
            mkdir -p -m 700 "$HOME/.golive" "$HOME/.golive/locks" && l=\(lock)
            if mkdir -m 700 "$l" 2>/dev/null; then printf '%s\\n' \(ShellQuoting.quote(info)) > "$l/info"; echo TAKEN
            elif grep -qx \(ShellQuoting.quote("run=\(options.runID)")) "$l/info" 2>/dev/null; then echo OURS
            else echo HELD; cat "$l/info" 2>/dev/null; fi
            """
        do {
            let outcome = try await connection.run(script, timeout: .seconds(30), output: nil)
            let lines = outcome.stdoutText.split(separator: "\n").map(String.init)
            switch lines.first {
            case "TAKEN", "OURS":
                heldHostLocks.insert(host)
                await emit(event(.lockTaken, host: host, status: "ok", message: "lock \(environment) taken on \(host)"))
                return nil
            case "HELD":
                let fields = Dictionary(lines.dropFirst().compactMap { line -> (String, String)? in
                    guard let equals = line.firstIndex(of: "=") else { return nil }
                    return (String(line[..<equals]), String(line[line.index(after: equals)...]))
                }, uniquingKeysWith: { first, _ in first })
                let message = "environment '\(environment)' is locked on \(host) by run \(fields["run"] ?? "?") "
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

    /// Releases the host locks this run holds.
    func releaseHostLocks(_ hosts: [String]? = nil) async {
        let targets = (hosts ?? Array(heldHostLocks)).filter { heldHostLocks.contains($0) }
        _ = await forEachHost(targets) { executor, host in await executor.releaseHostLock(host) }
    }

    private func releaseHostLock(_ host: String) async -> String? {
        if connections[host] == nil { _ = await reconnect(host) }
        guard let connection = connections[host] else { return "unreachable" }
        let lock = hostLockPath(host)
        let script = "l=\(lock); grep -qx \(ShellQuoting.quote("run=\(options.runID)")) \"$l/info\" 2>/dev/null && rm -rf \"$l\"; true"
        _ = try? await connection.run(script, timeout: .seconds(30), output: nil)
        heldHostLocks.remove(host)
        return nil
    }
}
