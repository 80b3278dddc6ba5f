import Engine
import Foundation
import Synchronization
import System

#if canImport(Glibc)
    import Glibc
#endif

/// The system's OpenSSH client as a transport: one ControlMaster per host for the run, its socket,
/// log and generated configs in a private directory of golive's (0700, removed at the end).
///
/// What ssh reads, in order (its first value of a keyword wins): the host's inventory settings and
/// golive's policy as `-o` arguments (`BatchMode`, `StrictHostKeyChecking`, `UpdateHostKeys no`,
/// the control socket), then golive's generated `-F` config: the policy again for the hops ssh
/// starts itself, the user's `~/.ssh/config` and `/etc/ssh/ssh_config` included as a plain `ssh`
/// reads them, then golive's defaults (`ConnectTimeout`). An inventory jump host is reached with a
/// `ProxyCommand` running `ssh -W` with a config of its own (its inventory settings, then the same
/// policy and includes), so a jump's user, key and known_hosts never leak into its target's.
final class OpenSSHTransport: Sendable {
    /// The `ssh` executable.
    let ssh: String
    private let userConfig: String
    private let connectTimeout: Duration
    /// The variables golive's secrets are read from: never in an ssh process's environment (a
    /// `SendEnv` in a config would send them to the server, and `/proc/PID/environ` shows them).
    let secretVariables: Set<String>
    private let state = Mutex<(directory: String?, count: Int)>((nil, 0))

    init(ssh: String, userConfig: String, connectTimeout: Duration, secretVariables: Set<String>) {
        self.ssh = ssh
        self.secretVariables = secretVariables
        self.userConfig = userConfig
        self.connectTimeout = connectTimeout
    }

    /// The private directory (made on first use) and a fresh number for a file in it.
    func slot() throws -> (directory: String, number: Int) {
        try state.withLock { state in
            if state.directory == nil {
                // A control socket's path must fit a sockaddr_un (108 bytes), and ssh would read a
                // `${...}` in it as a variable: such a TMPDIR gives way to /tmp.
                var base = NSTemporaryDirectory()
                if base.utf8.count > 60 || base.contains("${") { base = "/tmp" }
                Self.sweep(base)
                var template = Array((base + "/golive-ssh-XXXXXX").utf8CString)
                guard let made = mkdtemp(&template) else {
                    throw TransportError(
                        kind: .configuration, host: "",
                        message: "cannot make a private directory for OpenSSH in \(base): \(String(cString: strerror(errno)))")
                }
                let path = String(cString: made)
                chmod(path, 0o700)
                do {
                    try Self.write(String(getpid()) + "\n", to: path + "/owner")
                    try Self.write(try Self.config(userConfig: userConfig, defaults: connectTimeout), to: path + "/config")
                } catch {
                    try? FileManager.default.removeItem(atPath: path)
                    throw error
                }
                state.directory = path
            }
            state.count += 1
            return (state.directory ?? "", state.count)
        }
    }

    /// Removes the private directories of golive processes that are gone (a `kill -9` leaves its
    /// directory behind): those of this user whose `owner` pid no longer runs.
    static func sweep(_ base: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for entry in entries where entry.hasPrefix("golive-ssh-") {
            let path = base + "/" + entry
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                (attributes[.ownerAccountID] as? NSNumber)?.uint32Value == getuid(),
                let text = try? String(contentsOfFile: path + "/owner", encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1, pid != getpid()
            else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    /// Writes a file of the private directory, saying why it could not (a full disk).
    static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw TransportError(kind: .configuration, host: "", message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress?.advanced(by: offset), $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                throw TransportError(kind: .configuration, host: "", message: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// golive's `-F` config: the policy for every connection ssh makes for the run (first values win,
    /// so nothing later overrides them), then the user's and the system's configs, then defaults.
    static func config(userConfig: String, defaults connectTimeout: Duration, own: [(String, String)] = []) throws -> String {
        var text = "# Written by golive for one run; ssh applies the first value of each keyword it reads.\n"
        text += OpenSSHConfig.lines(own)
        text += OpenSSHConfig.lines(policy)
        for file in [userConfig, "/etc/ssh/ssh_config"] where FileManager.default.fileExists(atPath: file) {
            text += "Include \(try OpenSSHConfig.path(file))\n"
        }
        text += "ConnectTimeout \(max(1, Int(connectTimeout.seconds.rounded(.up))))\n"
        return text
    }

    /// What every connection golive makes through ssh holds to, hops included: no prompt, no key
    /// accepted or updated behind golive's back, no ControlMaster of the user's.
    static let policy: [(String, String)] = [
        ("BatchMode", "yes"), ("StrictHostKeyChecking", "yes"), ("UpdateHostKeys", "no"), ("ControlMaster", "no"),
        ("ControlPath", "none"), ("ControlPersist", "no"), ("LogLevel", "ERROR"), ("ForwardAgent", "no"), ("ForwardX11", "no"),
    ]

    /// What a master's session must be whatever the user's config says: golive's command on a
    /// session without a terminal, reading golive's pipe, in the foreground, no forwarding to set up.
    static let session: [(String, String)] = [
        ("RemoteCommand", "none"), ("RequestTTY", "no"), ("SessionType", "default"), ("StdinNull", "no"),
        ("ForkAfterAuthentication", "no"), ("ClearAllForwardings", "yes"), ("ForwardAgent", "no"), ("ForwardX11", "no"),
    ]

    /// Writes the config of an inventory jump host (its own settings first) and returns its path.
    func jumpConfig(_ own: [(String, String)]) throws -> String {
        let (directory, number) = try slot()
        let path = "\(directory)/jump-\(number).conf"
        try Self.write(try Self.config(userConfig: userConfig, defaults: connectTimeout, own: own), to: path)
        return path
    }

    /// Starts the host's master (`own`: its inventory settings and host key policy) and returns the
    /// connection through it.
    func connect(
        host: String, address: String, own: [(String, String)], user: String, endpoint: String, timeout: Duration, reason: String?
    ) async throws -> OpenSSHHostConnection
    {
        let (directory, number) = try slot()
        let socket = "\(directory)/m\(number).sock"
        let policy: [(String, String)] = [
            ("BatchMode", "yes"), ("UpdateHostKeys", "no"), ("ControlMaster", "yes"), ("ControlPath", try OpenSSHConfig.path(socket)),
            ("ControlPersist", "no"), ("LogLevel", "DEBUG1"),
        ] + Self.session
        let arguments = ["-F", "\(directory)/config"] + OpenSSHConfig.arguments(own + policy) + ["-T", "-e", "none", "--", address]
        let begin = ContinuousClock.now
        let master = try await OpenSSHMaster.start(
            ssh: ssh, arguments: arguments, socket: socket, host: host, timeout: timeout + .seconds(5), unsetting: secretVariables)
        var summary = master.summary(setupTime: begin.duration(to: .now), user: user, fallbackEndpoint: endpoint)
        summary.transport = "openssh"
        summary.transportReason = reason
        return OpenSSHHostConnection(master: master, host: host, summary: summary)
    }

    /// Removes the private directory (the masters have been closed with their connections).
    func shutdown() {
        guard let directory = state.withLock({ $0.directory }) else { return }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `ssh` on `PATH`.
    static func findSSH() -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/ssh") {
            return "\(directory)/ssh"
        }
        return "/usr/bin/ssh"
    }
}
