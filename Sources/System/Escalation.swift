import Foundation

/// How a command gains privilege on its host (`become`): the login user's shell starts a second
/// shell as ``user`` through ``method``, and that shell reads its script from stdin on the same
/// fixed bootstrap as the first (``ShellBootstrap``). Nothing secret is ever in an argument: the
/// password, when one is needed, goes on stdin only after the escalation asked for it (see
/// ``EscalationDialogue``), and the script after the escalated shell has started.
public struct Escalation: Sendable, Hashable, CustomStringConvertible {
    /// The program that escalates.
    public enum Method: String, Sendable, Hashable, CaseIterable {
        case sudo, su, doas
    }

    /// How.
    public var method: Method
    /// Whom the command runs as.
    public var user: String
    /// The login user's password for sudo, when one is given. Never printed.
    public var password: String?
    /// How long the escalation may take to start the command (or ask for the password).
    public var promptTimeout: Duration

    /// Creates an escalation.
    public init(method: Method, user: String, password: String? = nil, promptTimeout: Duration = .seconds(20)) {
        self.method = method
        self.user = user
        self.password = password
        self.promptTimeout = promptTimeout
    }

    /// What sudo prints when it asks for the password (`-p`): a fixed marker, never a translated prompt.
    public static let promptMarker = "golive-become-password:"

    /// `root via sudo`; the password never.
    public var description: String { "\(user) via \(method.rawValue)" }

    /// The same escalation without its password: what identifies it in a record.
    public var identity: String { "\(method.rawValue):\(user)" }

    /// The command the login shell runs to start the escalated shell. The escalated shell gets the
    /// host's lock root and the command's marker as its arguments (`$1`, `$2`: neither is secret),
    /// since sudo, su and doas reset the environment they came in.
    public var launcher: String {
        let boot = ShellQuote.quote(ShellBootstrap.command)
        let arguments = #"golive "${GOLIVE_LOCK_ROOT:-/var/tmp/golive}" "${GOLIVE_STEP:-}""#
        let target = ShellQuote.quote(user)
        switch method {
        case .sudo:
            let prompt = password == nil ? "-n" : "-S -p \(ShellQuote.quote(Self.promptMarker))"
            return "sudo \(prompt) -H -u \(target) -- /bin/sh -c \(boot) \(arguments)"
        case .doas:
            return "doas -n -u \(target) /bin/sh -c \(boot) \(arguments)"
        case .su:
            return "su -s /bin/sh -c \(boot) \(target) -- \(arguments)"
        }
    }

    /// The escalated shell's script: the lock root and marker back in its environment, then `command`.
    public func script(_ command: String) -> String {
        #"GOLIVE_LOCK_ROOT=$1; export GOLIVE_LOCK_ROOT; if [ -n "$2" ]; then GOLIVE_STEP=$2; export GOLIVE_STEP; fi; set --"#
            + "\n" + command
    }

    /// Why an escalation did not start the command, read from what it printed.
    public enum Failure: Sendable, Hashable {
        /// sudo asked for a password and none was given.
        case needsPassword
        /// sudo asked again after the password was sent.
        case passwordRefused
        /// The login user may not run commands as the target through this method.
        case notAllowed(String)
        /// sudoers says `requiretty`.
        case requiresTTY
        /// Neither a prompt nor the escalated shell came in time.
        case noAnswer
        /// The program is not installed.
        case missing
        /// Anything else it said.
        case other(String)
    }

    /// Classifies what the escalation printed on stderr before it gave up (exit status non-zero,
    /// and the escalated shell never started).
    public func failure(stderr: String, promptSeen: Bool, passwordSent: Bool) -> Failure {
        let text = stderr.lowercased()
        if text.contains("must have a tty") || text.contains("requiretty") { return .requiresTTY }
        if text.contains("not in the sudoers") || text.contains("is not allowed to") || text.contains("may not run sudo")
            || text.contains("not permitted") || text.contains("operation not permitted")
        {
            return .notAllowed(Self.lastLine(stderr))
        }
        if passwordSent && (text.contains("incorrect password") || text.contains("sorry, try again") || promptSeen) {
            return .passwordRefused
        }
        if text.contains("password is required") || text.contains("authentication failed") || (promptSeen && !passwordSent) {
            return method == .sudo ? .needsPassword : .notAllowed(Self.lastLine(stderr))
        }
        if text.contains("not found") && text.contains(method.rawValue) { return .missing }
        return .other(Self.lastLine(stderr))
    }

    /// What a failure says, naming the host and the login user.
    public func message(_ failure: Failure, host: String, login: String) -> String {
        let who = "\(login) → \(user) via \(method.rawValue)"
        switch failure {
        case .needsPassword:
            return "sudo on \(host) needs a password for \(login): set become_password (a secret) or use --ask-become-pass"
        case .passwordRefused:
            return "sudo on \(host) refused the password for \(login) (asked once; not retried)"
        case .notAllowed(let said):
            return "\(login) may not become \(user) on \(host) through \(method.rawValue)"
                + (said.isEmpty ? "" : " (\(said))") + ": add a rule for it (docs/privilege.md)"
        case .requiresTTY:
            return "sudo on \(host) requires a tty for \(login): add `Defaults:\(login) !requiretty` to sudoers "
                + "(or remove the `Defaults requiretty` line); golive never runs sudo in a pty"
        case .noAnswer:
            return "\(who) on \(host) gave no answer within \(Self.format(promptTimeout)): neither a password prompt nor the command started"
        case .missing:
            return "\(method.rawValue) is not installed on \(host)"
        case .other(let said):
            return "\(who) on \(host) did not start the command" + (said.isEmpty ? "" : ": \(said)")
        }
    }

    /// The short status a check shows for a failure (`sudo needs a password`).
    public func status(_ failure: Failure) -> String {
        switch failure {
        case .needsPassword: "sudo needs a password"
        case .passwordRefused: "\(method.rawValue) refused the password"
        case .notAllowed: method == .sudo ? "not in sudoers" : "\(method.rawValue) not allowed"
        case .requiresTTY: "sudo requires a tty"
        case .noAnswer: "\(method.rawValue) gave no answer"
        case .missing: "\(method.rawValue) not installed"
        case .other: "\(method.rawValue) failed"
        }
    }

    private static func lastLine(_ text: String) -> String {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && $0 != Escalation.promptMarker }.last.map {
                $0.replacingOccurrences(of: Escalation.promptMarker, with: "")
            } ?? ""
    }

    private static func format(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
    }
}
