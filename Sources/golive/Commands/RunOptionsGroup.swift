import ArgumentParser
import Engine
import Foundation
import Playbook
import SSHTransport
import Store
import Synchronization
import System

/// Options of every command that drives hosts through a run: run, rehearse, check, resume, rollback.
struct SessionOptions: ParsableArguments {
    @Option(name: .long, help: "Hosts worked on at once.") var forks: Int = 200

    @Flag(name: .long, help: "Answer every gate yes (recorded as such).") var yes = false

    @Flag(name: .long, help: "Append unknown host keys to known_hosts instead of refusing.") var acceptNewHostKeys = false

    @Option(name: .long, help: "The SSH implementation for every host: libssh2, openssh or auto (default: the inventory's transport:, else auto).")
    var transport: String?

    @Option(name: .long, help: "The OpenSSH client config to honour (default ~/.ssh/config).")
    var sshConfig: String?

    @Flag(name: .long, help: "No colours (also NO_COLOR).") var noColor = false

    @Option(name: .long, help: "Wait up to this long for a held environment lock (e.g. 10m) instead of refusing.")
    var lockWait: String?

    @Option(
        name: .long,
        help: "The environment lock's lease (default 60s): refreshed every quarter of it; a lock not refreshed for this long is stale.")
    var lease: String?

    @Option(
        name: .long,
        help: "How long an unreachable host is reconnected to during a rollback before a person is asked to act (default 60s).")
    var reconnectDeadline: String?

    @Option(
        name: .long,
        help: "How long a run waits for a team store that went away (no new step starts meanwhile) before it ends safely and spills its timeline to ~/.golive/spill (default 60s).")
    var storeRetry: String?

    @Flag(name: .long, help: "Ask once, on the terminal, for the login users' sudo password (for hosts whose inventory names no become_password).")
    var askBecomePass = false

    @Option(name: .long, help: "How long sudo (su, doas) may take to ask for the password or start a command (default 20s).")
    var becomeTimeout: String?

    func validate() throws {
        if forks < 1 { throw ValidationError("--forks must be at least 1") }
        try Self.validateTransport(transport)
        try Self.validateSSHConfig(sshConfig)
        if let becomeTimeout, DurationSyntax.parse(becomeTimeout) == nil {
            throw ValidationError("--become-timeout expects a duration like 10s, got '\(becomeTimeout)'")
        }
        if let reconnectDeadline, DurationSyntax.parse(reconnectDeadline) == nil {
            throw ValidationError("--reconnect-deadline expects a duration like 30s or 5m, got '\(reconnectDeadline)'")
        }
        if let lease {
            guard let duration = DurationSyntax.parse(lease), duration >= .seconds(1), duration <= .seconds(86_400) else {
                throw ValidationError("--lease expects a duration from 1s to 24h, like 30s or 5m, got '\(lease)'")
            }
        }
        if let storeRetry {
            guard let duration = DurationSyntax.parse(storeRetry), duration <= .seconds(86_400) else {
                throw ValidationError("--store-retry expects a duration up to 24h, like 30s or 5m, got '\(storeRetry)'")
            }
        }
        if let lockWait, DurationSyntax.parse(lockWait) == nil {
            throw ValidationError("--lock-wait expects a duration like 30s or 10m, got '\(lockWait)'")
        }
    }

    /// How long a run's journal retries a team store that went away.
    var storeRetryDuration: Duration { storeRetry.flatMap(DurationSyntax.parse) ?? .seconds(60) }

    /// Applies the options to a run's options.
    func apply(to options: inout RunOptions) {
        options.forks = forks
        options.assumeYes = yes
        options.lockWait = lockWait.flatMap(DurationSyntax.parse)
        if let lease = lease.flatMap(DurationSyntax.parse) { options.lease = lease }
        if let deadline = reconnectDeadline.flatMap(DurationSyntax.parse) { options.reconnectDeadline = deadline }
        if let timeout = becomeTimeout.flatMap(DurationSyntax.parse) { options.becomeTimeout = timeout }
        options.becomePassword = askBecomePass ? Self.becomePassword() : nil
    }

    /// The password `--ask-become-pass` asked for (once per process); exits 2 without a terminal.
    static func becomePassword() -> String {
        if let asked = asked.withLock({ $0 }) { return asked }
        guard let answer = PasswordPrompt.ask("become password: "), !answer.isEmpty else {
            Terminal.error("error: --ask-become-pass needs a terminal to ask on (and an answer); name a become_password secret in the inventory instead")
            Foundation.exit(ExitStatus.invalidInput.rawValue)
        }
        if let problem = Escalation.passwordProblem(answer) {
            Terminal.error("error: --ask-become-pass: that cannot be a sudo password: \(problem)")
            Foundation.exit(ExitStatus.invalidInput.rawValue)
        }
        asked.withLock { $0 = answer }
        return answer
    }

    /// The SSH transport's options.
    var transportOptions: SSHTransport.Options {
        Self.transportOptions(acceptNewHostKeys: acceptNewHostKeys, transport: transport, sshConfig: sshConfig)
    }

    /// The SSH transport's options from the flags every connecting command has (run's and ping's).
    static func transportOptions(acceptNewHostKeys: Bool, transport: String?, sshConfig: String?) -> SSHTransport.Options {
        var options = SSHTransport.Options()
        options.acceptNewHostKeys = acceptNewHostKeys
        options.transport = transport.flatMap(TransportChoice.init(rawValue:))
        if let sshConfig { options.sshConfigPath = URL(fileURLWithPath: sshConfig).standardizedFileURL.path }
        return options
    }

    /// `--ssh-config` names a readable file.
    static func validateSSHConfig(_ path: String?) throws {
        if let path, !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("--ssh-config: cannot read '\(path)'")
        }
    }

    /// `--transport` names a transport.
    static func validateTransport(_ transport: String?) throws {
        if let transport, TransportChoice(rawValue: transport) == nil {
            throw ValidationError("--transport expects libssh2, openssh or auto, got '\(transport)'")
        }
    }
}

private let asked = Mutex<String?>(nil)

/// Options of the commands that start a run: run, rehearse, check.
struct ExecutionOptions: ParsableArguments {
    @Option(name: .long, help: "The timeline store: a file, sqlite:PATH or postgres://USER@HOST:PORT/DB (default: $GOLIVE_STORE, else .golive/golive.sqlite beside the playbook).")
    var store: String?

    @OptionGroup var session: SessionOptions

    @Flag(name: .long, help: "On failure, stop and report instead of rolling back (exit 4).") var noRollback = false

    @Flag(name: .long, help: "Run outside the window; needs --reason, which is recorded.") var ignoreWindow = false

    @Option(name: .long, help: "Why the window is ignored (recorded on the timeline).") var reason: String?

    @Flag(name: .long, help: "Wait for the window to open instead of refusing.") var waitForWindow = false

    @Option(name: .long, help: "Refuse (exit 3) unless the resolved plan still has this fingerprint (from `golive plan`).")
    var expectPlan: String?

    func validate() throws {
        if ignoreWindow && (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--ignore-window needs --reason TEXT (it is recorded on the timeline)")
        }
    }

    /// The store for a playbook.
    func storeURL(besidePlaybook playbook: String) throws -> StoreURL {
        try StoreLocation.url(store, besidePlaybook: playbook)
    }
}

/// Where the timeline store is.
enum StoreLocation {
    static func resolve(_ explicit: String?, besidePlaybook playbook: String?) -> String {
        if let explicit { return explicit }
        if let environment = ProcessInfo.processInfo.environment["GOLIVE_STORE"], !environment.isEmpty { return environment }
        let directory = playbook.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? FileManager.default.currentDirectoryPath
        return directory + "/.golive/golive.sqlite"
    }

    /// The store `--store`, `GOLIVE_STORE` or the default names; a URL that is not one exits 2.
    static func url(_ explicit: String?, besidePlaybook playbook: String?) throws -> StoreURL {
        do {
            return try StoreURL(resolve(explicit, besidePlaybook: playbook))
        } catch {
            Terminal.error("error: \(error)")
            throw ExitStatus.invalidInput.exitCode
        }
    }

    /// The operator's name: $GOLIVE_OPERATOR, else the login name.
    /// A control character (a line break) in it is shown as `?`: a name is one line wherever the record shows it.
    static var operatorName: String {
        let name = ProcessInfo.processInfo.environment["GOLIVE_OPERATOR"] ?? ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
        return String(name.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }

    /// The OS user this process runs as (by its uid, whatever the environment says).
    static var osUser: String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "uid \(geteuid())" }
        return String(cString: name)
    }

    /// A new run id: UTC time and a random suffix, sortable.
    static func newRunID() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let suffix = String(UInt32.random(in: 0...0xFFFF), radix: 16)
        return formatter.string(from: Date()) + "-" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }
}
