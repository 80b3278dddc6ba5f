import Engine
import Foundation
import Playbook

/// A playbook run against a ``ScriptedTransport`` through a ``RunSession``, for engine tests that
/// take milliseconds: hosts `web1`...`webN` (not real), an in-memory journal, and every state the
/// run went through.
public final class ScriptedRun: @unchecked Sendable {
    /// The transport the run talks to.
    public let transport = ScriptedTransport()
    /// The journal the run writes.
    public let journal = MemoryJournal()
    /// Where the inventory and playbook are written.
    public let directory: String
    private let lock = NSLock()
    private var states: [(RunEvent, RunState)] = []
    private let inventoryPath: String

    /// Writes an inventory of `hosts` hosts in group `web`.
    public init(hosts: Int) throws {
        directory = try TestHosts.makeTemporaryDirectory(name: "scripted")
        inventoryPath = directory + "/inventory.yml"
        let lines = (1...hosts).map { "      web\($0): { address: 192.0.2.\($0) }" }.joined(separator: "\n")
        try "environment: scripted\ngroups:\n  web:\n    hosts:\n\(lines)\n".write(
            toFile: inventoryPath, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Every event of the run with the executor's state right after it, in order.
    public var snapshots: [(event: RunEvent, state: RunState)] { lock.withLock { states.map { ($0.0, $0.1) } } }

    /// The events as the journal holds them.
    public var events: [RunEvent] { get async { await journal.events } }

    /// Loads `playbook` (YAML text) against the inventory.
    public func load(_ playbook: String, vars: [String: Value] = [:]) throws -> ValidatedPlaybook {
        let path = directory + "/play-\(UInt32.random(in: 0...UInt32.max)).yml"
        try playbook.write(toFile: path, atomically: true, encoding: .utf8)
        let (book, _) = try Playbook.load(file: path)
        let (inventory, _) = try Inventory.load(file: inventoryPath)
        return try Validator(extraVars: vars).validate(book, inventory)
    }

    /// Options of a scripted run: fast rollback retries and reconnects.
    public func options(runID: String = "scripted-\(UInt32.random(in: 0...UInt32.max))", kind: RunOptions.Kind = .run) -> RunOptions {
        var options = RunOptions(kind: kind, runID: runID, operatorName: "tester", playbookDirectory: directory)
        options.reconnectDeadline = .milliseconds(300)
        options.rollbackAttempts = 1
        return options
    }

    private func session(gates: (any GateAnswerer)?, mailbox: (any GateMailbox)? = nil) -> RunSession {
        RunSession(
            store: MemoryStore(journal: journal, mailbox: mailbox), transport: transport, gates: gates,
            stateObserver: { [weak self] event, state in
                guard let self else { return }
                self.lock.withLock { self.states.append((event, state)) }
            })
    }

    /// Runs `playbook` to its end (its gates answered by `gates` at the "terminal", and from
    /// elsewhere through `mailbox`).
    public func run(
        _ playbook: String, vars: [String: Value] = [:], options: RunOptions? = nil, gates: (any GateAnswerer)? = nil,
        mailbox: (any GateMailbox)? = nil, during: (@Sendable (Executor) async -> Void)? = nil
    ) async throws -> RunOutcome {
        let play = try load(playbook, vars: vars)
        return await session(gates: gates, mailbox: mailbox).run(play, options: options ?? self.options(), whileRunning: during)
    }

    /// Puts `events` in the journal, as a dead controller would have left them.
    public func seed(_ events: [RunEvent]) async throws {
        for event in events { try await journal.append(event) }
    }

    /// Recovers the run recorded in the journal.
    public func recover(
        _ playbook: String, runID: String, _ recovery: Executor.Recovery, vars: [String: Value] = [:]
    ) async throws -> RunOutcome {
        let play = try load(playbook, vars: vars)
        return try await session(gates: nil).recover(play, recovery, options: options(runID: runID))
    }
}
