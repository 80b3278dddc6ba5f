import Foundation
import Playbook
import System

/// The run's connections: one per host, opened before anything runs, reopened with backoff for a rollback.
extension Executor {
    func connectAll(_ hosts: [InventoryHost]) async -> [String: String] {
        let results = await forEachHost(hosts.map(\.name)) { executor, name in
            await executor.connect(name)
        }
        return results.compactMapValues { $0 }
    }

    /// The escalations each connected host's steps and probes need (`become`), by host.
    func escalationsNeeded() -> [String: [Escalation]] {
        var needed: [String: [Escalation]] = [:]
        func add(_ escalation: Escalation?, on host: String) {
            guard let escalation, !(needed[host]?.contains(escalation) ?? false) else { return }
            needed[host, default: []].append(escalation)
        }
        for play in playbook.plays {
            let probes = play.play.health?.probes.contains { probe in
                switch probe.check {
                case .http, .tcp: false
                default: true
                }
            } ?? false
            for host in play.hostNames {
                for step in play.play.allSteps { add(escalation(for: step, on: host), on: step.delegate?.hostName ?? host) }
                if probes { add(escalation(forProbesOf: play.play.index, on: host), on: host) }
            }
        }
        return needed
    }

    /// Checks every escalation the run needs on every host it needs it on, each on the timeline;
    /// returns the hosts that cannot escalate and why.
    func verifyEscalations(on hosts: [String]? = nil) async -> [String: String] {
        let all = escalationsNeeded()
        let needed = hosts.map { hosts in all.filter { hosts.contains($0.key) } } ?? all
        guard !needed.isEmpty else { return [:] }
        let results = await forEachHost(needed.keys.sorted()) { executor, host in
            guard let connection = await executor.connection(to: host) else { return Optional("not connected") }
            var failure: String?
            for escalation in needed[host] ?? [] {
                let result = await EscalationCheck.verify(escalation, host: host, on: connection)
                await executor.emit(
                    executor.event(
                        .escalationChecked, phase: .connect, host: host, status: result.ok ? "ok" : "failed",
                        message: "\(result.who): \(result.message ?? result.status)"))
                if !result.ok, failure == nil { failure = result.message ?? result.status }
            }
            return failure
        }
        return results.compactMapValues { $0 }
    }

    /// What a refusal for the hosts that cannot escalate says: `cannot escalate on web1 (why); ...`.
    static func cannotEscalate(_ cannot: [String: String]) -> String {
        "cannot escalate on " + cannot.keys.sorted().map { "\($0) (\(cannot[$0] ?? ""))" }.joined(separator: "; ")
    }

    /// Connects (or reconnects) to a host; returns the failure message, nil on success.
    func connect(_ name: String) async -> String? {
        guard let host = playbook.inventory.host(named: name) else { return "not in the inventory" }
        do {
            let connection = try await transport.connect(to: host)
            connections[name] = connection
            let summary = connection.summary
            await emit(
                event(
                    .hostConnected, phase: .connect, host: name, status: "ok",
                    message: "\(summary.endpoint) \(summary.hostKey) \(summary.authMethod)"
                        + (summary.transportNote.map { " via \($0)" } ?? ""),
                    details: RunEvent.details(ConnectionDetails(summary: summary))))
            return nil
        } catch {
            await emit(event(.hostUnreachable, phase: .connect, host: name, status: "unreachable", message: "\(error)"))
            return "\(error)"
        }
    }

    /// Reconnects with backoff until the deadline; returns the last failure, or nil once connected.
    func reconnect(_ host: String) async -> String? {
        if let connection = connections[host] { await connection.close() }
        connections[host] = nil
        let deadline = ContinuousClock.now.advanced(by: options.reconnectDeadline)
        var delay = Duration.milliseconds(250)
        var failure = "not connected"
        var tries = 0
        while tries < 1000 {
            tries += 1
            guard let failed = await connect(host) else { return nil }
            failure = failed
            if ContinuousClock.now.advanced(by: delay) >= deadline { break }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
        return failure
    }

    /// The key of a delegated connection in ``connections``: never an inventory name (a NUL in it).
    static func delegatedKey(_ place: String, _ host: String) -> String { "\(place)\u{0}\(host)" }

    func delegatedConnection(to place: String, for host: String) async throws -> any HostConnection {
        let key = Self.delegatedKey(place, host)
        if let open = connections[key] { return open }
        // Only while the run holds the place's own connection (and so its lock).
        guard connections[place] != nil, let target = playbook.inventory.host(named: place) else {
            throw TransportError(kind: .connectionLost, host: place, message: "\(place): not connected")
        }
        let made = try await transport.connect(to: target)
        if let raced = connections[key] {
            await made.close()
            return raced
        }
        connections[key] = made
        return made
    }

    func dropDelegatedConnection(to place: String, for host: String) { connections[Self.delegatedKey(place, host)] = nil }

    func closeConnections() async {
        for connection in connections.values { await connection.close() }
        connections.removeAll()
    }
}
