import ArgumentParser
import Console
import Engine
import Foundation
import Playbook
import SSHTransport

/// `golive inventory -i INV [--list | --host NAME | --graph]`: what golive resolved from an
/// inventory (golive's or Ansible's): hosts, groups, variables (secrets as ••••) and each host's
/// connection after ~/.ssh/config. `--list --json` is `ansible-inventory --list`'s shape.
struct InventoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory", abstract: "Show the hosts, groups, variables and connections golive resolved from an inventory.")

    @Option(name: [.customShort("i"), .long], help: "The inventory (golive's or Ansible's; repeat -i to merge Ansible inventories).")
    var inventory: [String]
    @Flag(name: .long, help: "Every host with its groups, variables and connection (the default).") var list = false
    @Option(name: .long, help: "One host's variables and connection.") var host: String?
    @Flag(name: .long, help: "The tree of groups and hosts.") var graph = false
    @Option(name: .long, help: "Only these hosts or groups (Ansible's patterns: web:&prod:!web3, ~regex, web[0:2]).") var limit: String?
    @Option(name: .long, help: "The environment's name, for an Ansible inventory that does not name it.") var environment: String?
    @Option(name: .long, help: "The OpenSSH client config to honour (default ~/.ssh/config).") var sshConfig: String?
    @Flag(name: .long, help: "JSON: `--list` as ansible-inventory --list writes it (plus _meta.golive), `--host` the host's variables.")
    var json = false

    func validate() throws {
        if [list, host != nil, graph].filter({ $0 }).count > 1 { throw ValidationError("choose one of --list, --host and --graph") }
        try SessionOptions.validateSSHConfig(sshConfig)
    }

    func run() throws {
        let loaded = try InputLoader.loadInventory(
            inventory, environment: environment, json: false, requireSecrets: false, requireEnvironment: false)
        var hosts = loaded.hosts
        if let limit {
            do { hosts = try loaded.select(limit) } catch {
                Terminal.error("error: --limit: \(error)")
                throw ExitStatus.invalidInput.exitCode
            }
        }
        let listing = InventoryListing(inventory: loaded, hosts: hosts)
        let transport = SSHTransport(
            inventory: loaded, options: SessionOptions.transportOptions(acceptNewHostKeys: false, transport: nil, sshConfig: sshConfig))
        defer { transport.shutdown() }
        if graph {
            print(listing.graph())
            return
        }
        if let name = host {
            guard let chosen = loaded.host(named: name) else {
                let hint = Suggestions.closest(to: name, in: loaded.hosts.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
                Terminal.error("error: '\(name)' is not a host of this inventory\(hint)")
                throw ExitStatus.invalidInput.exitCode
            }
            if json {
                print(Self.encode(listing.hostVariables(chosen)))
            } else {
                print(describe(chosen, in: loaded, transport: transport).joined(separator: "\n"))
            }
            return
        }
        if json {
            var object = listing.list()
            var meta = object["_meta"] as? [String: Any] ?? [:]
            meta["golive"] = [
                "environment": loaded.environment, "format": loaded.format.rawValue, "order": hosts.map(\.name),
                "hosts": Dictionary(uniqueKeysWithValues: hosts.map { ($0.name, connection($0, transport: transport)) }),
            ] as [String: Any]
            object["_meta"] = meta
            print(Self.encode(object))
            return
        }
        let kind = loaded.format == .ansible ? "Ansible inventory" : "golive inventory"
        let environmentText = loaded.environment.isEmpty ? "no environment named (golive_environment or --environment)" : "environment \(loaded.environment)"
        print("\(kind) \(loaded.sources.joined(separator: " + ")): \(hosts.count) host\(hosts.count == 1 ? "" : "s"), \(environmentText)")
        for host in hosts {
            print("")
            print(describe(host, in: loaded, transport: transport).joined(separator: "\n"))
        }
    }

    /// A host's block of the text listing.
    private func describe(_ host: InventoryHost, in inventory: Inventory, transport: SSHTransport) -> [String] {
        var lines = [host.name + (host.groups.isEmpty ? "" : "  (\(host.groups.joined(separator: ", ")))")]
        let details = connection(host, transport: transport)
        func row(_ label: String, _ value: Any?) {
            guard let value else { return }
            let text = (value as? [String])?.joined(separator: ", ") ?? "\(value)"
            if !text.isEmpty { lines.append("  " + label.padding(toLength: 12, withPad: " ", startingAt: 0) + text) }
        }
        if details["connection"] as? String == "local" {
            row("connection", "local: the controller, no SSH")
        } else {
            row("connect", "\(details["user"] ?? "")@\(details["address"] ?? ""):\(details["port"] ?? "")")
            row("identity", details["identity_files"])
            row("jump", details["jump"])
            row("known_hosts", details["known_hosts"])
            row("transport", (details["transport"] as? String).map { t in (details["transport_reason"] as? String).map { "\(t) (\($0))" } ?? t })
            row("problem", details["error"])
        }
        if let become = host.ssh.become.become {
            row("become", "\(become.method.rawValue) → \(become.user)" + (become.passwordSecret != nil ? " (password ••••)" : ""))
        }
        let vars = inventory.variables(of: host)
        for key in vars.keys.sorted() {
            guard let value = vars[key] else { continue }
            row(key == vars.keys.sorted().first ? "vars" : "", "\(key) = \(Self.show(value))")
        }
        return lines
    }

    /// How golive would reach a host: address, port, user, identity files, jump, known_hosts, transport.
    private func connection(_ host: InventoryHost, transport: SSHTransport) -> [String: Any] {
        do {
            let route = try transport.route(for: host)
            if route.local { return ["connection": "local"] }
            var details: [String: Any] = [
                "connection": "ssh", "address": route.address, "port": route.port, "user": route.user,
                "identity_files": route.identities, "known_hosts": route.knownHosts,
            ]
            if !route.jumps.isEmpty { details["jump"] = route.jumps.joined(separator: ",") }
            if let decision = route.transport {
                details["transport"] = decision.transport.rawValue
                if let reason = decision.reason { details["transport_reason"] = reason }
            }
            return details
        } catch {
            return ["connection": "ssh", "error": "\(error)"]
        }
    }

    static func show(_ value: Value) -> String {
        switch value {
        case .string(let text) where text.contains(where: \.isNewline): encode(text, pretty: false)
        case .string(let text): text.contains(where: \.isWhitespace) || text.isEmpty ? "\"\(text)\"" : text
        case .list, .map: encode(InventoryListing.json(value), pretty: false)
        default: value.text(revealingSecrets: false)
        }
    }

    static func encode(_ object: Any, pretty: Bool = true) -> String {
        let options: JSONSerialization.WritingOptions = pretty
            ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]
        guard JSONSerialization.isValidJSONObject(object) || object is String, let data = try? JSONSerialization.data(withJSONObject: object, options: options)
        else { return "\(object)" }
        return String(decoding: data, as: UTF8.self)
    }
}
