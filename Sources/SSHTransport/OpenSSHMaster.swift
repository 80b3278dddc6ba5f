import Engine
import Foundation
import System

#if canImport(Glibc)
    import Glibc
#endif

/// One host's OpenSSH ControlMaster: the `ssh -M` process that holds the run's one connection to
/// the host, and that every command of the run goes through (`ssh -S SOCKET`).
///
/// Its remote command prints a line once authenticated and then reads its stdin, a pipe golive
/// holds: when golive ends, however it ends, the pipe closes, the remote `cat` ends and the shell
/// ends its sshd session, so the connection goes down with golive, clients and master included
/// (no `ControlPersist`), as a libssh2 connection would; a command still running on the host is
/// left to the recovery to stop, as with libssh2. It runs in a process group of its own, so a Ctrl-C at the terminal
/// reaches golive (which rolls back through it), not the connection. Its log (`LogLevel DEBUG1`:
/// the only level that names the host key) is a file in golive's private directory.
final class OpenSSHMaster: @unchecked Sendable {
    /// The control socket.
    let socket: String
    /// The master's log.
    let log: String
    private let process: ChildProcess
    private let lock = NSLock()
    private var input: Int32
    private static let ready = "golive-ready"
    /// The master's remote command: the ready line, then nothing until its stdin ends; then the
    /// session (its parent, the login's sshd) is ended.
    static let remoteCommand = "echo \(ready); cat >/dev/null; kill -s TERM $PPID 2>/dev/null"

    private init(socket: String, log: String, process: ChildProcess, input: Int32) {
        self.socket = socket
        self.log = log
        self.process = process
        self.input = input
    }

    /// Starts the master and waits until it has authenticated (the ready line), it has failed, or
    /// `timeout` has passed.
    ///
    /// - Throws: ``TransportError`` with ssh's own words and the kind they mean.
    static func start(ssh: String, arguments: [String], socket: String, host: String, timeout: Duration, unsetting: Set<String>)
        async throws -> OpenSSHMaster
    {
        let base = socket.dropLast(".sock".count)
        let out = base + ".out", log = base + ".log"
        let (process, input) = try ChildProcess.withInput(
            ssh, arguments + [remoteCommand], stdout: String(out), stderr: String(log), unsetting: unsetting)
        let master = OpenSSHMaster(socket: socket, log: String(log), process: process, input: input)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var pause = Duration.milliseconds(1)
        while true {
            if let text = try? String(contentsOfFile: String(out), encoding: .utf8), text.contains(ready + "\n") { return master }
            if !process.isRunning || ContinuousClock.now >= deadline || Task.isCancelled {
                let timedOut = process.isRunning
                await master.close()
                let said = master.said()
                if Task.isCancelled { throw TransportError(kind: .cancelled, host: host, message: "\(host): cancelled while connecting") }
                if timedOut {
                    throw TransportError(
                        kind: .unreachable, host: host,
                        message: "\(host): OpenSSH did not connect and log in within \(timeout)\(said.isEmpty ? "" : ": " + said)")
                }
                throw TransportError(kind: kind(of: said), host: host, message: "\(host): OpenSSH: \(said.isEmpty ? "ssh exited without a word" : said)")
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(10))
        }
    }

    /// True while the master process runs.
    var isAlive: Bool { process.isRunning }

    /// Waits until the master process has ended, at most `bound`.
    func waitForEnd(upTo bound: Duration) async {
        let deadline = ContinuousClock.now.advanced(by: bound)
        while process.isRunning, ContinuousClock.now < deadline {
            await Pause.uncancelled(.milliseconds(5))
        }
    }

    /// The master's own words (its log without the debug lines and the banner's frame), for a message.
    func said() -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("debug") && !$0.allSatisfy { $0 == "@" } && !$0.hasPrefix("Authenticated to") }
        return lines.suffix(6).joined(separator: " ")
    }

    /// What ssh's words say went wrong.
    static func kind(of said: String) -> TransportError.Kind {
        if said.contains("Host key verification failed") || said.contains("HOST IDENTIFICATION HAS CHANGED")
            || said.contains("host key is known") || said.contains("No matching host key")
        {
            return .hostKey
        }
        if said.contains("Permission denied") || said.contains("Too many authentication failures") { return .authentication }
        if said.contains("Bad configuration option") || said.contains("command-line line") || said.contains("garbage at end of line")
            || said.contains("Bad owner or permissions")
        {
            return .configuration
        }
        return .unreachable
    }

    /// How the connection was set up, from the master's log: the host key it verified, how it
    /// authenticated, where it connected, whether the key was just added.
    func summary(setupTime: Duration, user: String, fallbackEndpoint: String) -> ConnectionSummary {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        var hostKey = "unknown", method = "unknown", accepted: String?, endpoint = fallbackEndpoint, added = false
        for line in text.split(whereSeparator: \.isNewline) {
            if let range = line.range(of: "Server host key: ") ?? line.range(of: "Server host certificate: ") {
                // `TYPE SHA256:...` (a certificate goes on: `, serial 0 ID "..." CA ...`).
                let fields = line[range.upperBound...].split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ",")) }
                if fields.count >= 2 { hostKey = "\(Self.displayType(fields[0])) \(fields[1])" }
            } else if let range = line.range(of: "Server accepts key: ") {
                let fields = line[range.upperBound...].split(separator: " ")
                if fields.count >= 3 {
                    let agent = fields.last == "agent"
                    accepted = agent ? "agent (\(fields[0]))" : "\(fields[0]) (\(fields[fields.count >= 4 ? fields.count - 3 : 1]))"
                }
            } else if line.hasPrefix("Authenticated to "), let using = line.range(of: " using \"") {
                method = String(line[using.upperBound...].prefix { $0 != "\"" })
                let head = line[..<using.lowerBound]
                if let open = head.firstIndex(of: "("), let close = head.lastIndex(of: ")"), open < close {
                    let inner = head[head.index(after: open)..<close]
                    endpoint = inner == "via proxy" ? "\(fallbackEndpoint) via proxy" : inner.replacingOccurrences(of: "[", with: "")
                        .replacingOccurrences(of: "]", with: "")
                }
            } else if line.contains("Permanently added") {
                added = true
            }
        }
        if method == "publickey", let accepted {
            method = accepted.hasPrefix("agent") ? accepted : "publickey \(accepted)"
        }
        return ConnectionSummary(
            endpoint: endpoint, hostKey: hostKey, authMethod: method, setupTime: setupTime, hostKeyAdded: added, user: user)
    }

    /// `ssh-ed25519` → `ED25519`, `ssh-ed25519-cert-v01@openssh.com` → `ED25519-CERT`, as ssh names them.
    static func displayType(_ type: String) -> String {
        var base = type
        var suffix = ""
        if let range = base.range(of: "-cert-v01@openssh.com") {
            base = String(base[..<range.lowerBound])
            suffix = "-CERT"
        }
        let name: String
        switch base {
        case "ssh-ed25519": name = "ED25519"
        case "ssh-rsa", "rsa-sha2-256", "rsa-sha2-512": name = "RSA"
        case "sk-ssh-ed25519@openssh.com": name = "ED25519-SK"
        case let ecdsa where ecdsa.hasPrefix("ecdsa-"): name = "ECDSA"
        case let sk where sk.hasPrefix("sk-ecdsa-"): name = "ECDSA-SK"
        default: name = base
        }
        return name + suffix
    }

    /// Keeps the log small: once past a megabyte it is emptied (the handshake was read long ago; the
    /// master appends, so it goes on at the start).
    func trimLog() {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: log))?[.size] as? Int, size > 1 << 20 else { return }
        _ = truncate(log, 0)
    }

    /// Ends the master: its stdin closed (the remote `cat` ends, then the connection), then TERM and
    /// KILL to its process group if it lingers; the socket is removed.
    func close() async {
        let fd = lock.withLock {
            defer { input = -1 }
            return input
        }
        if fd >= 0 { _ = Glibc.close(fd) }
        for signal in [SIGTERM, SIGKILL] {
            await waitForEnd(upTo: .seconds(2))
            guard process.isRunning else { break }
            kill(-process.pid, signal)
        }
        if process.isRunning { process.wait() }
        unlink(socket)
    }
}
