import ArgumentParser
import Foundation

/// The `golive` command line.
@main
struct Golive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "golive",
        abstract: "Run a go-live: pre-checks, backups, rolling deploy, health watch, automatic rollback.",
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, PlanCommand.self, PingCommand.self, CheckCommand.self, RunCommand.self, RehearseCommand.self,
            WatchCommand.self, RunsCommand.self, TimelineCommand.self, ResumeCommand.self, RollbackCommand.self, UnlockCommand.self,
            SandboxCommand.self,
        ])
}
