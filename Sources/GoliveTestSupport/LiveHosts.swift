import Engine
import Foundation
import Playbook
import SSHTransport
import Sandbox

/// Simulated servers for engine and CLI tests: a ``Sandbox`` (real sshd + HTTP per host) in a
/// temporary directory, with its inventory, and helpers to load playbooks and run them.
public final class LiveHosts: @unchecked Sendable {
    /// The sandbox.
    public let sandbox: Sandbox
    /// Temporary directory holding everything.
    public let directory: String
    /// The generated inventory.
    public let inventoryPath: String
    /// The hosts.
    public let hosts: [Sandbox.Host]

    /// Starts `count` hosts (web1...), each on release 1.0.0, and with `tiers` a database server
    /// `db1` and a load balancer `lb1`; on loopback ports unless `network` asks for a namespace per host.
    /// With a `login` other than `.current` the hosts log in like production's: a non-root user,
    /// root logins refused, the hosts' files root's (see ``SandboxUsers``; needs root).
    /// `key` is the key the inventory logs in with; `transport`, when given, is written into the
    /// inventory's defaults (`transport: openssh`).
    public init(
        count: Int, network: Sandbox.NetworkMode = .loopback, tiers: Bool = false, login: Sandbox.Login = .current,
        key: Sandbox.ClientKey = .ed25519, transport: String? = nil
    ) throws {
        directory = try TestHosts.makeTemporaryDirectory(name: "live")
        // Its login users reach their keys and the hosts through it.
        chmod(directory, 0o755)
        sandbox = Sandbox(directory: directory + "/sandbox")
        inventoryPath = directory + "/inventory.yml"
        hosts = try sandbox.up(count: count, inventoryPath: inventoryPath, network: network, tiers: tiers, login: login, key: key)
        if let transport { try setTransport(transport, in: inventoryPath) }
    }

    /// How production logs in, where this machine can make it so: a non-root user with sudo as root
    /// (the sandbox's users need root to be made), else the current user.
    public static var productionLogin: Sandbox.Login { geteuid() == 0 ? .deploy : .current }

    deinit { stop() }

    /// A copy of the inventory whose hosts all get `transport` (`openssh`), beside it; returns its path.
    public func inventory(transport: String) throws -> String {
        let path = directory + "/inventory-\(transport).yml"
        try FileManager.default.copyItem(atPath: inventoryPath, toPath: path)
        try setTransport(transport, in: path)
        return path
    }

    private func setTransport(_ transport: String, in path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "defaults:\n", with: "defaults:\n  transport: \(transport)\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Stops the hosts this fixture started and removes its directory. Safe to call twice.
    public func stop() {
        sandbox.down()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A host by name.
    public func host(_ name: String) -> Sandbox.Host? { hosts.first { $0.name == name } }

    /// The release a host's `current` points at (`1.0.0`), or nil.
    public func current(_ name: String) -> String? {
        guard let host = host(name),
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: host.appDirectory + "/current")
        else { return nil }
        return URL(fileURLWithPath: target).lastPathComponent
    }

    /// Writes a playbook into the fixture's directory and returns its path.
    public func write(_ text: String, name: String = "play.yml") throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Loads and validates a playbook against the fixture's inventory.
    public func load(_ playbook: String, vars: [String: Value] = [:], environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> ValidatedPlaybook
    {
        let (book, _) = try Playbook.load(file: playbook)
        let (inventory, _) = try Inventory.load(file: inventoryPath, environment: environment)
        return try Validator(extraVars: vars).validate(book, inventory)
    }

    /// Runs a playbook through a ``RunSession`` (an in-memory journal unless `journal` is given)
    /// and returns the outcome and the events.
    public func execute(
        _ playbook: String, vars: [String: Value] = [:], kind: RunOptions.Kind = .run,
        journal: (any Journal)? = nil, gates: (any GateAnswerer)? = nil,
        configure: (inout RunOptions) -> Void = { _ in }, during: (@Sendable (Executor) async -> Void)? = nil
    ) async throws -> (RunOutcome, [RunEvent]) {
        let play = try load(playbook, vars: vars)
        let options = options(for: playbook, kind: kind, configure: configure)
        let memory = MemoryJournal()
        let transport = SSHTransport(inventory: play.inventory)
        defer { transport.shutdown() }
        let session = RunSession(store: MemoryStore(journal: journal ?? memory), transport: transport, gates: gates)
        let outcome = await session.run(play, options: options, whileRunning: during)
        return (outcome, await memory.events)
    }

    /// The options of a test run of `playbook`: a random run id, the operator `tester`, a 3 s reconnect deadline.
    public func options(for playbook: String, kind: RunOptions.Kind = .run, configure: (inout RunOptions) -> Void = { _ in })
        -> RunOptions
    {
        var options = RunOptions(
            kind: kind, runID: "test-\(UInt32.random(in: 0...UInt32.max))", operatorName: "tester",
            playbookDirectory: URL(fileURLWithPath: playbook).deletingLastPathComponent().path)
        options.reconnectDeadline = .seconds(3)
        configure(&options)
        return options
    }

    /// Runs a shell command on this machine (the hosts' files are local) and returns its output.
    public func shell(_ script: String) throws -> String { try HostTools.sh(script) }
}

/// Waits (bounded) for a condition checked every 20 ms; false on timeout.
public func eventually(timeout: Duration = .seconds(20), _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}
