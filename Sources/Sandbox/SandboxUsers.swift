import Foundation
import System

#if canImport(Glibc)
    import Glibc
#endif

/// The users the sandbox's hosts log in as, like production's: a deploy user with NOPASSWD sudo, one
/// whose sudo wants its password, an application user to run things as, and two that cannot
/// escalate (not in sudoers; sudo with `requiretty`). They are this machine's users (the hosts share
/// its `/etc`), made once with `useradd` and given their rules in `/etc/sudoers.d/golive-sandbox`
/// (checked with `visudo` before it is put in place). Making them needs root.
public enum SandboxUsers {
    /// Logs in and may run anything as anyone with sudo, no password (the sandbox's default login).
    public static let deploy = "golive-deploy"
    /// Logs in; sudo asks for its password (`sandbox up --sudo-password`).
    public static let password = "golive-sudo"
    /// The application's user: never logs in; steps run as it with `become_user`.
    public static let app = "golive-app"
    /// Logs in; not in sudoers.
    public static let noSudo = "golive-nosudo"
    /// Logs in; sudoers says `requiretty` for it.
    public static let tty = "golive-tty"

    /// Where their homes are.
    static let homes = "/var/lib/golive-sandbox"

    /// Where their sudo rules are.
    public static let sudoersFile = "/etc/sudoers.d/golive-sandbox"

    /// The rules (the narrowest that serve the sandbox's purposes are in docs/privilege.md).
    static let sudoers = """
        # Written by `golive sandbox up`: the sandbox hosts' login users.
        \(deploy) ALL=(ALL:ALL) NOPASSWD: ALL
        \(password) ALL=(ALL:ALL) ALL
        \(tty) ALL=(ALL:ALL) NOPASSWD: ALL
        Defaults:\(tty) requiretty

        """

    /// Where the password of ``password`` (and ``noSudo``) is kept, root's only: made once, so that
    /// every sandbox on this machine agrees on it (a new one per sandbox would break the others').
    static let passwordFile = homes + "/sudo-password"

    /// Makes the users that do not exist yet and installs the sudo rules; with `password`, returns
    /// the password user's password (made and set the first time).
    ///
    /// - Throws: ``SandboxError`` when not root, without sudo, or when a command fails.
    @discardableResult
    public static func ensure(password withPassword: Bool) throws -> String? {
        guard geteuid() == 0 else {
            throw SandboxError(message: "the sandbox's login users can only be made as root; use `--login self` to log in as yourself")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sudo") else {
            throw SandboxError(message: "the sandbox's deploy user needs sudo: apt-get install sudo (or use `--login self`)")
        }
        for user in [deploy, password, app, noSudo, tty] {
            let home = homes + "/" + user
            if getpwnam(user) == nil {
                let shell = user == app ? "/usr/sbin/nologin" : "/bin/sh"
                // `*`: no password, but not locked (sshd refuses a locked account even a key).
                try HostTools.output(
                    "/usr/sbin/useradd", ["--system", "--no-create-home", "--home-dir", home, "--shell", shell, "--password", "*", user])
            }
            // A home of its own, as a real login has (sshd starts each session in it).
            if !FileManager.default.fileExists(atPath: home) {
                try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
                try HostTools.output("/bin/chown", ["\(user):", home])
                chmod(home, 0o700)
            }
        }
        var sudoPassword: String?
        if withPassword {
            if let kept = try? String(contentsOfFile: passwordFile, encoding: .utf8), !kept.isEmpty {
                sudoPassword = kept
            } else {
                let made = newPassword()
                try FileManager.default.createDirectory(atPath: homes, withIntermediateDirectories: true)
                // Created 0600 from the start, and only once (O_EXCL): never readable by others.
                let fd = open(passwordFile, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard fd >= 0 else { throw SandboxError(message: "cannot create \(passwordFile): \(String(cString: strerror(errno)))") }
                let written = made.withCString { write(fd, $0, strlen($0)) }
                close(fd)
                guard written == made.utf8.count else { throw SandboxError(message: "cannot write \(passwordFile)") }
                sudoPassword = made
            }
        }
        if let sudoPassword {
            // The password user's, and the same for the one not in sudoers (sudo checks a password
            // before it says a user may not use it).
            for user in [password, noSudo] {
                _ = try HostTools.sh(
                    "printf '%s:%s\\n' \(ShellQuote.quote(user)) \"$GOLIVE_SANDBOX_NEW_PASSWORD\" | /usr/sbin/chpasswd",
                    environment: ["GOLIVE_SANDBOX_NEW_PASSWORD": sudoPassword])
            }
        }
        let current = try? String(contentsOfFile: sudoersFile, encoding: .utf8)
        guard current != sudoers else { return sudoPassword }
        let staged = sudoersFile + ".golive-new"
        try sudoers.write(toFile: staged, atomically: false, encoding: .utf8)
        chmod(staged, 0o440)
        do {
            try HostTools.output("/usr/sbin/visudo", ["-c", "-q", "-f", staged])
        } catch {
            unlink(staged)
            throw error
        }
        guard rename(staged, sudoersFile) == 0 else {
            unlink(staged)
            throw SandboxError(message: "cannot install \(sudoersFile): \(String(cString: strerror(errno)))")
        }
        return sudoPassword
    }

    /// A password for the password user: 24 random letters and digits.
    public static func newPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }
}
