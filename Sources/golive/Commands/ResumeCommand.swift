import ArgumentParser
import Engine
import Foundation

/// `golive resume RUN [--rollback]`: recover a run whose controller died from its journal.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Continue, or roll back, a run whose controller died.")

    @Argument(help: "The run id (or a unique prefix).") var run: String
    @Flag(name: .long, help: "Roll back instead of continuing.") var rollback = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var session: SessionOptions
    @Flag(name: .long, help: "Take the run over although its controller process is still alive (only once its lease ran out).")
    var force = false
    @Flag(name: .long, help: "One JSON event per line.") var json = false
    @OptionGroup var files: RecoveryFiles

    func run() async throws {
        try await RunDriver.recover(
            run, mode: rollback ? .rollback : .resume, onlyDied: true, storeOptions: storeOptions, session: session, force: force, json: json,
            files: files)
    }
}

/// `golive rollback RUN`: roll back a finished run on purpose.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Roll back a finished run on purpose, with its recorded backups and rollbacks.")

    @Argument(help: "The run id (or a unique prefix).") var run: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var session: SessionOptions
    @Flag(name: .long, help: "Take the run over although its controller process is still alive (only once its lease ran out).")
    var force = false
    @Flag(name: .long, help: "One JSON event per line.") var json = false
    @OptionGroup var files: RecoveryFiles

    func run() async throws {
        try await RunDriver.recover(run, mode: .rollback, storeOptions: storeOptions, session: session, force: force, json: json, files: files)
    }
}

/// Where a recovery finds the run's playbook and inventory when they are not at the paths the run
/// recorded: from another machine sharing the store, its own checkout of them. The plan they
/// resolve to must be the run's (else the recovery refuses and touches nothing).
struct RecoveryFiles: ParsableArguments {
    @Option(name: .long, help: "This machine's copy of the run's playbook (default: the path the run recorded).")
    var playbook: String?
    @Option(
        name: [.customShort("i"), .long],
        help: "This machine's copy of the run's inventory, repeatable as when it ran (default: the paths the run recorded).")
    var inventory: [String] = []
}
