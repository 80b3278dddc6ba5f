import Foundation
import System

#if canImport(Glibc)
    import Glibc
#endif

/// Building blocks for simulated SSH hosts: keys, free ports, sshd configs, readiness checks.
public enum HostTools {
    /// Generates an OpenSSH key pair at `path` (and `path.pub`).
    public static func keygen(type: String, path: String, bits: String? = nil, passphrase: String = "") throws {
        var arguments = ["-q", "-t", type, "-N", passphrase, "-C", "golive-sandbox", "-f", path]
        if let bits { arguments += ["-b", bits] }
        _ = try output("/usr/bin/ssh-keygen", arguments)
    }

    /// Runs a program and returns its output; throws on a non-zero exit.
    @discardableResult
    public static func output(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let (status, text) = try ChildProcess.run(executable, arguments, environment: environment)
        guard status == 0 else {
            throw SandboxError(message: "\(executable) \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    /// Runs a shell script and returns its output; throws on a non-zero exit.
    @discardableResult
    public static func sh(_ script: String, environment: [String: String] = [:]) throws -> String {
        try output("/bin/sh", ["-c", script], environment: environment)
    }

    /// The sshd config of a simulated host listening on `address:port`.
    public static func sshdConfig(
        address: String, port: Int, hostKeys: [String], pidFile: String, authorizedKeys: String, password: Bool = false,
        home: String? = nil, environment: [String: String] = [:], rootLogin: Bool = true
    ) -> String {
        var text = """
            Port \(port)
            ListenAddress \(address)
            PidFile \(pidFile)
            AuthorizedKeysFile \(authorizedKeys)
            StrictModes no
            UsePAM no
            PermitRootLogin \(rootLogin ? "yes" : "no")
            PubkeyAuthentication yes
            PasswordAuthentication \(password ? "yes" : "no")
            KbdInteractiveAuthentication no
            AllowTcpForwarding yes
            PrintMotd no
            PrintLastLog no
            MaxStartups 200:30:400
            MaxSessions 100
            LogLevel ERROR
            Subsystem sftp internal-sftp

            """
        for key in hostKeys { text += "HostKey \(key)\n" }
        // A home of its own, as a separate server would have (sessions get HOME from SetEnv).
        // Extra variables for every session (a faked clock, say) share the one SetEnv line.
        var variables = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if let home { variables.insert("HOME=\(home)", at: 0) }
        if !variables.isEmpty { text += "SetEnv \(variables.joined(separator: " "))\n" }
        return text
    }

    /// The `[address]:port keytype key` known_hosts lines for a host's public keys (plain
    /// `address keytype key` on port 22, as OpenSSH writes them).
    public static func knownHostsLines(address: String, port: Int, publicKeyFiles: [String]) throws -> String {
        var lines = ""
        for file in publicKeyFiles {
            let fields = try String(contentsOfFile: file, encoding: .utf8).split(separator: " ")
            guard fields.count >= 2 else { throw SandboxError(message: "\(file) is not a public key") }
            lines += (port == 22 ? address : "[\(address)]:\(port)") + " \(fields[0]) \(fields[1])\n"
        }
        return lines
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw SandboxError(message: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits (bounded) until something on `address:port` sends a line starting with `prefix`
    /// (an SSH banner), or merely accepts connections when `prefix` is nil.
    public static func waitForListener(
        address: String = "127.0.0.1", port: Int, prefix: String?, timeout: Duration = .seconds(15)
    ) throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let answer = probe(address: address, port: port, read: prefix != nil) {
                if let prefix { if answer.hasPrefix(prefix) { return } } else { return }
            }
            usleep(10_000)
        }
        throw SandboxError(message: "nothing answered on \(address):\(port) within \(timeout)")
    }

    private static func probe(address host: String, port: Int, read wantsData: Bool) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return nil }
        guard wantsData else { return "" }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = Glibc.read(fd, &buffer, buffer.count)
        return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
    }
}
