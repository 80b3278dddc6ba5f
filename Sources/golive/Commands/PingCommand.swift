import ArgumentParser
import Console
import Engine
import Foundation
import Playbook
import SSHTransport
import System

/// `golive ping -i INVENTORY`: connect to every host in parallel and report key, auth and round trip.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping", abstract: "Connect to every host: host key, authentication, round trip.")

    @Option(name: [.customShort("i"), .long], help: "The inventory (golive's or Ansible's; repeat -i to merge Ansible inventories).")
    var inventory: [String]
    @Option(name: .long, help: "The environment's name, for an Ansible inventory that does not name it.") var environment: String?
    @Option(name: .long, help: "Only these hosts or groups.") var limit: String?
    @Flag(name: .long, help: "Append unknown host keys to known_hosts instead of refusing (changed keys are still refused).")
    var acceptNewHostKeys = false
    @Flag(name: .long, help: "One JSON object per host.") var json = false
    @Option(name: .long, help: "The SSH implementation for every host: libssh2, openssh or auto (default: the inventory's transport:, else auto).")
    var transport: String?
    @Option(name: .long, help: "The OpenSSH client config to honour (default ~/.ssh/config).") var sshConfig: String?
    @Option(name: .long, help: "Hosts connected at once.") var forks: Int = 500
    @Flag(name: .long, help: "Check escalation (become) on every host, not only where the inventory turns it on.") var become = false
    @Flag(name: .long, help: "Ask once, on the terminal, for the login users' sudo password.") var askBecomePass = false

    func validate() throws {
        try SessionOptions.validateTransport(transport)
        try SessionOptions.validateSSHConfig(sshConfig)
    }

    func run() async throws {
        let inventory = try InputLoader.loadInventory(
            self.inventory, environment: environment, json: json, requireSecrets: false, requireEnvironment: false)
        var hosts = inventory.hosts
        if let limit {
            do {
                hosts = try inventory.select(limit)
            } catch {
                Terminal.error("error: --limit: \(error)")
                throw ExitStatus.invalidInput.exitCode
            }
        }
        let options = SessionOptions.transportOptions(acceptNewHostKeys: acceptNewHostKeys, transport: transport, sshConfig: sshConfig)
        let transport = SSHTransport(inventory: inventory, options: options)
        defer { transport.shutdown() }
        let password = askBecomePass ? SessionOptions.becomePassword() : nil
        let escalations = Dictionary(
            uniqueKeysWithValues: hosts.compactMap { host -> (String, Escalation)? in
                var settings = host.ssh.become
                if become { settings.enabled = true }
                guard let wanted = settings.become else { return nil }
                var escalation = EscalationCheck.escalation(wanted, secrets: inventory.secrets, askedPassword: password)
                if let value = escalation.password, let problem = Escalation.passwordProblem(value) {
                    Terminal.error("\(host.name): the sudo password cannot be sent: \(problem)")
                    escalation.password = nil
                }
                return (host.name, escalation)
            })
        let results = await Concurrency.forEach(hosts, limit: forks) { host in await Self.ping(host, transport, escalation: escalations[host.name]) }
        var failed = 0
        let width = max(4, hosts.map(\.name.count).max() ?? 4)
        for host in hosts {
            guard let result = results[host.name] else { continue }
            if json {
                var item: [String: Any] = ["host": host.name, "ok": result.ok]
                if let summary = result.summary {
                    item["endpoint"] = summary.endpoint
                    item["host_key"] = summary.hostKey
                    item["auth"] = summary.authMethod
                    item["host_key_added"] = summary.hostKeyAdded
                }
                if let transport = result.summary?.transport ?? result.decision?.transport.rawValue {
                    item["transport"] = transport
                    if let reason = result.summary?.transportReason ?? result.decision?.reason { item["transport_reason"] = reason }
                }
                if let rtt = result.roundTrip { item["round_trip_ms"] = rtt }
                if let escalation = result.escalation {
                    item["become"] = ["as": escalation.who, "ok": escalation.ok, "status": escalation.status, "message": escalation.message ?? ""]
                }
                if let error = result.error { item["error"] = error }
                let data = try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else if result.ok, let summary = result.summary {
                let added = summary.hostKeyAdded ? Terminal.yellow(" (host key added to known_hosts)") : ""
                print(
                    "\(Terminal.green("ok    ")) \(host.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(summary.transport)  \(summary.endpoint)  \(summary.hostKey)  \(summary.authMethod)  \(String(format: "%.1f", result.roundTrip ?? 0)) ms\(added)")
                if let reason = summary.transportReason {
                    print("       \(String(repeating: " ", count: width))  \(Terminal.dim("\(summary.transport): \(reason)"))")
                }
                if let escalation = result.escalation {
                    print("       \(String(repeating: " ", count: width))  \(escalation.who): \(Terminal.green(escalation.status))")
                }
            } else if let escalation = result.escalation, !escalation.ok {
                print(
                    "\(Terminal.red("failed")) \(host.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(escalation.who): \(Terminal.red(escalation.status)): \(TerminalText.visible(escalation.message ?? ""))")
            } else {
                let via = result.decision.map { decision in
                    "\(decision.transport.rawValue)\(decision.reason.map { " (\($0))" } ?? ""): "
                } ?? ""
                print("\(Terminal.red("failed")) \(host.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(via)\(TerminalText.visible(result.error ?? "unknown error"))")
            }
            if !result.ok { failed += 1 }
        }
        if !json {
            print("\(hosts.count - failed)/\(hosts.count) host(s) reachable")
        }
        if failed > 0 { throw ExitStatus.refused.exitCode }
    }

    struct Result: Sendable {
        var ok: Bool
        var summary: ConnectionSummary?
        var roundTrip: Double?
        var error: String?
        var escalation: EscalationCheck.Result?
        var decision: TransportDecision?
    }

    static func ping(_ host: InventoryHost, _ transport: SSHTransport, escalation: Escalation?) async -> Result {
        var result = await connectAndCheck(host, transport, escalation: escalation)
        // A host on the controller (`connection: local`) has no SSH transport to choose.
        if host.ssh.connection != .local { result.decision = try? transport.decision(for: host) }
        return result
    }

    private static func connectAndCheck(_ host: InventoryHost, _ transport: SSHTransport, escalation: Escalation?) async -> Result {
        do {
            let connection = try await transport.connect(to: host)
            let start = ContinuousClock.now
            let outcome = try await connection.run("true", timeout: .seconds(30), output: nil)
            let elapsed = start.duration(to: .now)
            guard outcome.succeeded else {
                await connection.close()
                return Result(ok: false, summary: connection.summary, error: "`true` failed: \(outcome.stderrText)")
            }
            var checked: EscalationCheck.Result?
            if let escalation { checked = await EscalationCheck.verify(escalation, host: host.name, on: connection) }
            await connection.close()
            return Result(
                ok: checked?.ok ?? true, summary: connection.summary, roundTrip: elapsed.seconds * 1000,
                error: checked.flatMap { $0.ok ? nil : $0.message }, escalation: checked)
        } catch {
            return Result(ok: false, error: "\(error)")
        }
    }
}
