import ArgumentParser
import Engine
import Foundation
import Playbook
import Store

/// `golive resume RUN [--rollback]` and `golive rollback RUN`: recover a run from its journal.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Continue, or roll back, a run whose controller died.")

    @Argument(help: "The run id (or a unique prefix).") var run: String
    @Flag(name: .long, help: "Roll back instead of continuing.") var rollback = false
    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "Answer every gate yes.") var yes = false
    @Flag(name: .long, help: "One JSON event per line.") var json = false

    func run() async throws {
        try await Recovery.recover(run, mode: rollback ? .rollback : .resume, storeOptions: storeOptions, yes: yes, json: json)
    }
}

/// `golive rollback RUN`: roll back a finished run on purpose.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Roll back a finished run on purpose, with its recorded backups and rollbacks.")

    @Argument(help: "The run id (or a unique prefix).") var run: String
    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "One JSON event per line.") var json = false

    func run() async throws {
        try await Recovery.recover(run, mode: .rollback, storeOptions: storeOptions, yes: false, json: json)
    }
}

enum Recovery {
    static func recover(_ id: String, mode: Executor.Recovery, storeOptions: StoreOptions, yes: Bool, json: Bool) async throws {
        let store = try storeOptions.open()
        let record = try storeOptions.run(store, id)
        let events = try store.events(runID: record.id)
        if mode == .resume, record.status != "running" {
            Terminal.error("error: run \(record.id) has ended (\(record.status)); only a run whose controller died can be resumed (use `golive rollback` to undo a finished run)")
            throw ExitStatus.invalidInput.exitCode
        }
        let details = events.first { $0.kind == .runStarted }?.details ?? [:]
        var input = try InputOptions.parse([])
        input.inventory = record.inventoryFile
        input.vars = RecordedInput.decodeVars(details["vars"])
        input.limit = details["limit"]
        input.json = json
        guard let play = try InputLoader.load(playbook: record.playbookFile, options: input, requireSecrets: true) else {
            throw ExitStatus.invalidInput.exitCode
        }
        var options = RunOptions(
            kind: RunOptions.Kind(rawValue: record.kind) ?? .run, runID: record.id, operatorName: StoreLocation.operatorName,
            playbookDirectory: URL(fileURLWithPath: record.playbookFile).deletingLastPathComponent().path)
        options.assumeYes = yes
        let transport = SSHTransport(inventory: play.inventory)
        defer { transport.shutdown() }
        let executor = Executor(
            play: play, transport: transport, journal: try store.journal(runID: record.id), observer: ProgressPrinter(json: json),
            lock: store.lock, gates: Terminal.stdinIsTTY && !json ? TerminalGate() : nil, options: options)
        let outcome = await executor.recover(from: events, mode)
        if !json { RunDriver.printSummary(outcome, runID: record.id, storePath: store.path) }
        if outcome.exitCode == 1 && mode == .rollback && outcome.attention.isEmpty {
            return  // a requested rollback that completed is a success for this command
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }
}
