import Foundation
import Playbook

/// The run's connections: one per host, opened before anything runs, reopened with backoff for a rollback.
extension Executor {
    func connectAll(_ hosts: [InventoryHost]) async -> [String: String] {
        let results = await forEachHost(hosts.map(\.name)) { executor, name in
            await executor.connect(name)
        }
        return results.compactMapValues { $0 }
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
                    message: "\(summary.endpoint) \(summary.hostKey) \(summary.authMethod)",
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
