import ArgumentParser
import Engine

/// `golive run PLAYBOOK -i INVENTORY`: the real go-live, window enforced, rollback automatic.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "The real go-live: window enforced, rollback automatic.")

    @Argument(help: "The playbook file.") var playbook: String
    @OptionGroup var input: InputOptions
    @OptionGroup var execution: ExecutionOptions

    func validate() throws {
        if input.inventory.isEmpty { throw ValidationError("run needs an inventory: -i INVENTORY") }
    }

    func run() async throws {
        try await RunDriver.execute(kind: .run, playbook: playbook, input: input, execution: execution)
    }
}

/// `golive rehearse PLAYBOOK -i INVENTORY`: like run, window recorded not enforced, timings kept.
struct RehearseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rehearse", abstract: "A rehearsal: the window is not enforced; timings are recorded.")

    @Argument(help: "The playbook file.") var playbook: String
    @OptionGroup var input: InputOptions
    @OptionGroup var execution: ExecutionOptions
    @Flag(name: .long, help: "After success, roll the change back on purpose so the rollback is timed too.")
    var rollbackAfter = false

    func validate() throws {
        if input.inventory.isEmpty { throw ValidationError("rehearse needs an inventory: -i INVENTORY") }
    }

    func run() async throws {
        try await RunDriver.execute(kind: .rehearse, playbook: playbook, input: input, execution: execution, rollbackAfter: rollbackAfter)
    }
}

/// `golive check PLAYBOOK -i INVENTORY`: connect and run only the pre-checks.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Connect and run only the pre-checks (read-only).")

    @Argument(help: "The playbook file.") var playbook: String
    @OptionGroup var input: InputOptions
    @OptionGroup var execution: ExecutionOptions

    func validate() throws {
        if input.inventory.isEmpty { throw ValidationError("check needs an inventory: -i INVENTORY") }
    }

    func run() async throws {
        try await RunDriver.execute(kind: .check, playbook: playbook, input: input, execution: execution)
    }
}
