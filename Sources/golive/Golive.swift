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
            WatchCommand.self, RunsCommand.self, TimelineCommand.self, ReportCommand.self, ResumeCommand.self, RollbackCommand.self, UnlockCommand.self, InventoryCommand.self,
            SandboxCommand.self,
        ])

    /// Runs the command; invalid arguments exit with 2, like every other invalid input.
    static func main() async {
        raiseOpenFileLimit()
        // Output to a closed pipe (`golive runs | head`) fails that write, not the process.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                Terminal.error(fullMessage(for: error))
                Foundation.exit(ExitStatus.invalidInput.rawValue)
            }
            exit(withError: error)
        }
    }

    /// One socket per host: lift the soft limit on open files to the hard limit (often 1,024 vs
    /// 524,288), so a run over thousands of hosts is not cut short by EMFILE.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
