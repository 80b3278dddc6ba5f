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
            WatchCommand.self, RunsCommand.self, TimelineCommand.self, ReportCommand.self, ResumeCommand.self, RollbackCommand.self, UnlockCommand.self, GatesCommand.self, AnswerCommand.self, NotifyCommand.self, InventoryCommand.self, StoreCommand.self,
            SandboxCommand.self,
        ])

    /// Runs the command; invalid arguments exit with 2, like every other invalid input.
    static func main() async {
        raiseOpenFileLimit()
        // Output to a closed pipe (`golive runs | head`) fails that write, not the process.
        signal(SIGPIPE, SIG_IGN)
        var status: Int32 = 0
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            status = report(error)
        }
        end(status)
    }

    /// Prints what an error says (help and version to stdout) and gives the exit status it means.
    static func report(_ error: any Error) -> Int32 {
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        if code == .validationFailure {
            Terminal.error(message)
            return ExitStatus.invalidInput.rawValue
        }
        if !message.isEmpty {
            if code == .success { Terminal.out(Data((message + "\n").utf8)) } else { Terminal.error(message) }
        }
        return code.rawValue
    }

    /// Ends the process with `status` once its output is flushed, without the C library's exit
    /// handlers: those tear down OpenSSL's global state while a connection's thread may still be
    /// closing its session, which crashed an interrupted run on its way out.
    static func end(_ status: Int32) -> Never {
        fflush(nil)
        _exit(status)
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
