import Foundation
import Playbook
import System

/// Whether a login user can escalate as a host's steps need (`become`), checked on every host
/// before the window's first change: `ping`, `check` and `run` all ask it.
public enum EscalationCheck {
    /// One host's answer for one escalation.
    public struct Result: Sendable, Hashable {
        /// True when the escalated shell started and ran as the user it should.
        public var ok: Bool
        /// The short status (`sudo ok`, `sudo needs a password`, `not in sudoers`, `sudo requires a tty`).
        public var status: String
        /// The whole story, with what to do (nil when ok).
        public var message: String?
        /// `alice → root via sudo`.
        public var who: String
    }

    /// The escalation `become` asks for: with the login user's password from its secret, else the one
    /// asked for on the terminal (sudo only: su and doas never read one).
    public static func escalation(
        _ become: Become, secrets: [String: SecretSource], askedPassword: String?, promptTimeout: Duration = .seconds(20)
    ) -> Escalation {
        let password = become.passwordSecret.flatMap { secrets[$0]?.value?.revealForUse() } ?? askedPassword
        return Escalation(method: become.method, user: become.user, password: become.method == .sudo ? password : nil, promptTimeout: promptTimeout)
    }

    /// Runs `id -un` through `escalation` on `connection` (no lock needed: it changes nothing).
    public static func verify(_ escalation: Escalation, host: String, on connection: any HostConnection) async -> Result {
        let login = connection.summary.user
        let who = escalation.who(login: login)
        if escalation.method == .su, !login.isEmpty, login != "root" {
            return Result(
                ok: false, status: "su needs a root login",
                message: "su on \(host) from \(login) would ask for \(escalation.user)'s password: log in as root for su, or use sudo",
                who: who)
        }
        do {
            let outcome = try await connection.run(
                escalation.launcher, escalation: escalation, script: "id -un", stdin: nil,
                timeout: escalation.promptTimeout + .seconds(10), output: nil)
            if let failure = outcome.escalationFailure {
                var message = escalation.message(failure, host: host, login: login)
                // sudo's own count of the attempts ("1 incorrect password attempt"): never more than one.
                if failure == .passwordRefused, let said = outcome.stderrText.split(separator: "\n").last(where: { $0.contains("incorrect password") }) {
                    message += "; \(said.trimmingCharacters(in: .whitespaces))"
                }
                return Result(ok: false, status: escalation.status(failure), message: message, who: who)
            }
            // The last line: a login banner printed on stdout comes before it.
            let user = outcome.stdoutText.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard outcome.succeeded, user == escalation.user else {
                let said = outcome.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
                return Result(
                    ok: false, status: "\(escalation.method.rawValue) failed",
                    message: "\(who) on \(host) ran as '\(user)', not \(escalation.user)" + (said.isEmpty ? "" : ": \(said)"), who: who)
            }
            return Result(ok: true, status: "\(escalation.method.rawValue) ok", message: nil, who: who)
        } catch {
            return Result(ok: false, status: "unreachable", message: "\(error)", who: who)
        }
    }
}
