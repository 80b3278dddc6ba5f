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

    /// The login and whom it becomes, as the timeline and the checks say it: `alice → root via sudo`.
    public func who(login: String) -> String { "\(login.isEmpty ? "login" : login) → \(user) via \(method.rawValue)" }

    /// What a refusal of this escalation on `host` is remembered under for the rest of a run.
    public func refusalKey(host: String) -> String { "\(host)\u{0}\(identity)" }

    /// Why `password` cannot be sent to sudo, or nil: sudo reads one line of at most 1022 bytes (a
    /// line break would end it early and send the rest as the next line — a command, once the
    /// escalated shell reads its script; a longer one would be cut and counted as several attempts).
    public static func passwordProblem(_ password: String) -> String? {
        if password.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\u{0}" }) {
            return "it holds a line break (or NUL); sudo reads a password as one line (a trailing newline from a file counts too)"
        }
        if password.utf8.count > 1022 { return "it is \(password.utf8.count) bytes long; sudo reads at most 1022 and a line end" }
        return nil
    }

    /// The command the login shell runs to start the escalated shell. sudo, su and doas reset the
    /// environment they came in, so the host's lock root and the command's marker go as arguments
    /// (neither is secret) to a first shell that exports them and `exec`s the fixed bootstrap: the
    /// escalated shell carries the marker in its own environment from its start (`/proc/PID/environ`,
    /// where a stop finds it), and so does everything it starts.
    public var launcher: String {
        let reexec = ShellQuote.quote(#"GOLIVE_LOCK_ROOT=$1 GOLIVE_STEP=$2; export GOLIVE_LOCK_ROOT GOLIVE_STEP; exec /bin/sh -c "$0""#)
        let arguments = ShellQuote.quote(ShellBootstrap.command) + #" "${GOLIVE_LOCK_ROOT:-/var/tmp/golive}" "${GOLIVE_STEP:-}""#
        let target = ShellQuote.quote(user)
        switch method {
        case .sudo:
            // `-k`: a cached sudo timestamp is never relied on (nor updated), so what the check
            // before the window saw is what every step sees.
            let prompt = password == nil ? "-n" : "-S -p \(ShellQuote.quote(Self.promptMarker))"
            return "sudo -k \(prompt) -H -u \(target) -- /bin/sh -c \(reexec) \(arguments)"
        case .doas:
            return "doas -n -u \(target) /bin/sh -c \(reexec) \(arguments)"
        case .su:
            return "su -s /bin/sh -c \(reexec) \(target) -- \(arguments)"
        }
    }

    /// The escalated shell's script: `command` (an unguarded one has no marker to carry).
    public func script(_ command: String) -> String {
        #"[ -n "${GOLIVE_STEP:-}" ] || unset GOLIVE_STEP"# + "\n" + command
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
            || text.contains("not permitted") || text.contains("operation not permitted") || text.contains("unknown user")
            || (method == .doas && text.contains("authentication required"))
        {
            return .notAllowed(Self.tellingLine(stderr))
        }
        if passwordSent && (text.contains("incorrect password") || text.contains("sorry, try again") || promptSeen) {
            return .passwordRefused
        }
        if text.contains("password is required") || text.contains("authentication failed") || (promptSeen && !passwordSent) {
            return method == .sudo ? .needsPassword : .notAllowed(Self.tellingLine(stderr))
        }
        if text.contains("not found") && text.contains(method.rawValue) { return .missing }
        return .other(Self.tellingLine(stderr))
    }

    /// What a failure says, naming the host and the login user.
    public func message(_ failure: Failure, host: String, login: String) -> String {
        let who = who(login: login)
        switch failure {
        case .needsPassword:
            return "sudo on \(host) needs a password for \(login): set become_password (a secret) or use --ask-become-pass"
        case .passwordRefused:
            return "sudo on \(host) refused the password for \(login) (asked once; not retried)"
        case .notAllowed(let said):
            if said.lowercased().contains("unknown user") {
                return "\(user) is not a user on \(host) (\(said)): check become_user"
            }
            let rule = method == .doas ? "a `permit nopass \(login) as \(user)` rule in /etc/doas.conf" : "a rule for it"
            return "\(login) may not become \(user) on \(host) through \(method.rawValue)"
                + (said.isEmpty ? "" : " (\(said))") + ": add \(rule) (docs/privilege.md)"
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

    /// The line of what the escalation said that tells most: the reason when one is there (an
    /// unknown user, sudoers' refusal, an expired password), else its last line.
    static func tellingLine(_ text: String) -> String {
        let lines = text.split(separator: "\n").map { $0.replacingOccurrences(of: Escalation.promptMarker, with: "").trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let telling = ["unknown user", "not in the sudoers", "not allowed", "authentication required", "expired", "change your password", "tty"]
        return lines.first { line in telling.contains { line.lowercased().contains($0) } }
            ?? lines.last { !$0.lowercased().contains("audit plugin") } ?? lines.last ?? ""
    }

    private static func format(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
    }
}
