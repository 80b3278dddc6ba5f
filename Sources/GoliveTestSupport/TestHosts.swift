import Foundation
import SSH
import System
@_exported import Sandbox

#if canImport(Glibc)
    import Glibc
#endif

/// Real OpenSSH `sshd` daemons on loopback ports, standing in for servers.
///
/// Each host gets its own ed25519 host key (and optionally an ECDSA one), a port on 127.0.0.1, and a
/// root directory. Client keys, `known_hosts` and `authorized_keys` are generated in a temporary
/// directory. ``stop()`` terminates exactly the processes this value started, by pid, and removes the
/// directory.
public final class TestHosts: @unchecked Sendable {
    /// One simulated server.
    public struct Host: Sendable, Hashable {
        /// Inventory-style name (`host1`, ...).
        public var name: String
        /// Always 127.0.0.1.
        public var address: String
        /// The sshd's port.
        public var port: Int
        /// A private directory for the host's files (its "disk").
        public var root: String
        /// The sshd's host key file (ed25519).
        public var hostKeyFile: String
    }

    /// Options for starting hosts.
    public struct Options: Sendable {
        /// Also give each host an ECDSA host key (the server then offers both).
        public var ecdsaHostKey = false
        /// Allow password login for the current user with this password (needs root and `unshare`:
        /// sshd runs in its own mount namespace with a private /etc/shadow).
        public var password: String?
        /// Write `known_hosts` entries for the hosts (else it starts empty).
        public var writeKnownHosts = true
        /// Also listen on the IPv6 loopback `::1` (and trust `[::1]:port`).
        public var ipv6 = false
        /// sshd trusts user certificates signed by ``TestHosts/userAuthority`` (`TrustedUserCAKeys`).
        public var trustUserCertificates = false
        /// Each host presents a certificate for its key signed by ``TestHosts/hostAuthority``.
        public var hostCertificates = false
        /// The type of each host's key (`ed25519`, or `rsa`: a server libssh2 1.10 cannot negotiate with).
        public var hostKeyType = "ed25519"
        /// Creates default options.
        public init() {}
    }

    /// The temporary directory holding keys, configs and host roots.
    public let directory: String
    /// The hosts, in start order.
    public private(set) var hosts: [Host] = []
    /// Client key (ed25519), authorized on every host.
    public let ed25519Key: String
    /// Client key (ECDSA P-256), authorized on every host.
    public let ecdsaKey: String
    /// Client key (ed25519) encrypted with ``passphrase``, authorized on every host.
    public let encryptedKey: String
    /// The passphrase of ``encryptedKey``.
    public let passphrase = "correct horse battery staple"
    /// Client key (RSA), authorized on every host (libssh2 1.10 cannot use it).
    public let rsaKey: String
    /// known_hosts with every host's keys.
    public let knownHosts: String
    /// The remote user: whoever runs the tests.
    public let user: String
    /// The private key of the CA that signs user certificates (``Options/trustUserCertificates``).
    public var userAuthority: String { directory + "/user_ca" }
    /// The private key of the CA that signs host certificates (``Options/hostCertificates``).
    public var hostAuthority: String { directory + "/host_ca" }
    private var processes: [Int32: ChildProcess] = [:]
    private var agents: [ChildProcess] = []
    private let options: Options

    /// Starts `count` hosts and waits until each accepts connections.
    ///
    /// - Throws: when keys cannot be generated or an sshd does not come up within 15 s.
    public init(count: Int, options: Options = Options(), prefix: String = "host") throws {
        self.options = options
        directory = try Self.makeTemporaryDirectory()
        ed25519Key = directory + "/id_ed25519"
        ecdsaKey = directory + "/id_ecdsa"
        encryptedKey = directory + "/id_ed25519_pass"
        rsaKey = directory + "/id_rsa"
        knownHosts = directory + "/known_hosts"
        user = String(cString: getpwuid(geteuid()).pointee.pw_name)
        try Self.sh("mkdir -p /run/sshd 2>/dev/null || true")
        try Self.keygen(type: "ed25519", path: ed25519Key)
        try Self.keygen(type: "ecdsa", path: ecdsaKey, bits: "256")
        try Self.keygen(type: "ed25519", path: encryptedKey, passphrase: passphrase)
        try Self.keygen(type: "rsa", path: rsaKey, bits: "2048")
        let authorized = try [ed25519Key, ecdsaKey, encryptedKey, rsaKey]
            .map { try String(contentsOfFile: $0 + ".pub", encoding: .utf8) }.joined()
        try authorized.write(toFile: directory + "/authorized_keys", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: knownHosts, contents: nil)
        if options.trustUserCertificates { try Self.keygen(type: "ed25519", path: userAuthority) }
        if options.hostCertificates { try Self.keygen(type: "ed25519", path: hostAuthority) }
        if let password = options.password { try writeShadow(password: password) }
        do {
            try add(count: count, prefix: prefix)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Starts `count` more hosts.
    public func add(count: Int, prefix: String = "host") throws {
        let first = hosts.count + 1
        var started: [Host] = []
        for index in first..<(first + count) {
            let name = "\(prefix)\(index)"
            let root = directory + "/hosts/" + name
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let hostKey = root + "/ssh_host_\(options.hostKeyType)_key"
            try Self.keygen(type: options.hostKeyType, path: hostKey, bits: options.hostKeyType == "rsa" ? "2048" : nil)
            if options.ecdsaHostKey { try Self.keygen(type: "ecdsa", path: root + "/ssh_host_ecdsa_key", bits: "256") }
            if options.hostCertificates {
                _ = try Self.output("/usr/bin/ssh-keygen", ["-q", "-s", hostAuthority, "-I", name, "-h", "-n", "127.0.0.1", hostKey + ".pub"])
            }
            let port = try Self.freePort()
            let host = Host(name: name, address: "127.0.0.1", port: port, root: root, hostKeyFile: hostKey)
            try launch(host)
            started.append(host)
            if options.writeKnownHosts { try trust(host) }
        }
        for host in started { try Self.waitForBanner(port: host.port) }
        hosts += started
    }

    /// Adds the host's current key(s) to ``knownHosts``.
    public func trust(_ host: Host) throws {
        var files = [host.hostKeyFile + ".pub"]
        if options.ecdsaHostKey { files.append(host.root + "/ssh_host_ecdsa_key.pub") }
        var lines = try HostTools.knownHostsLines(address: host.address, port: host.port, publicKeyFiles: files)
        if options.ipv6 { lines += try HostTools.knownHostsLines(address: "::1", port: host.port, publicKeyFiles: files) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: knownHosts))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines.utf8))
        try handle.close()
    }

    /// The sshd config text for a host.
    private func config(_ host: Host) -> String {
        var keys = [host.hostKeyFile]
        if options.ecdsaHostKey { keys.append(host.root + "/ssh_host_ecdsa_key") }
        let text = HostTools.sshdConfig(
            address: host.address, port: host.port, hostKeys: keys, pidFile: host.root + "/sshd.pid",
            authorizedKeys: directory + "/authorized_keys", password: options.password != nil,
            environment: ["GOLIVE_LOCK_ROOT": host.root + "/var/tmp/golive"])
        var extra = options.ipv6 ? "ListenAddress ::1\n" : ""
        if options.trustUserCertificates { extra += "TrustedUserCAKeys \(userAuthority).pub\n" }
        if options.hostCertificates { extra += "HostCertificate \(host.hostKeyFile)-cert.pub\n" }
        return text + extra
    }

    private func launch(_ host: Host) throws {
        let configFile = host.root + "/sshd_config"
        try config(host).write(toFile: configFile, atomically: true, encoding: .utf8)
        let log = host.root + "/sshd.log"
        let process: ChildProcess
        if options.password != nil {
            process = try ChildProcess(
                "/usr/bin/unshare",
                [
                    "--mount", "--propagation", "private", "/bin/sh", "-c",
                    "mount --bind \(directory)/shadow /etc/shadow && exec /usr/sbin/sshd -D -e -f \(configFile)",
                ], stderr: log)
        } else {
            process = try ChildProcess("/usr/sbin/sshd", ["-D", "-e", "-f", configFile], stderr: log)
        }
        processes[process.pid] = process
        pidsByName[host.name] = process.pid
    }

    private var pidsByName: [String: Int32] = [:]

    /// Kills one host's sshd (SIGKILL), as if the server died; its open connections drop too.
    public func kill(_ host: Host) {
        guard let pid = pidsByName[host.name] else { return }
        // Connection children are in the listener's process group only when started from it; kill them by parent.
        _ = try? Self.sh("pkill -KILL -P \(pid) 2>/dev/null; true")
        processes[pid]?.signal(SIGKILL)
        processes[pid]?.wait()
        processes[pid] = nil
        pidsByName[host.name] = nil
    }

    /// Replaces a host's key with a new one and restarts its sshd (known_hosts is left as it was).
    public func rotateHostKey(_ host: Host) throws {
        kill(host)
        try? FileManager.default.removeItem(atPath: host.hostKeyFile)
        try? FileManager.default.removeItem(atPath: host.hostKeyFile + ".pub")
        try Self.keygen(type: "ed25519", path: host.hostKeyFile)
        try launch(host)
        try Self.waitForBanner(port: host.port)
    }

    /// Starts an ssh-agent holding the given keys; returns its socket path. Stopped by ``stop()``.
    public func startAgent(keys: [String]) throws -> String {
        let socket = directory + "/agent.\(agents.count).sock"
        let process = try ChildProcess("/usr/bin/ssh-agent", ["-D", "-a", socket])
        agents.append(process)
        var waited = 0
        while !FileManager.default.fileExists(atPath: socket) && waited < 1000 {
            usleep(10_000)
            waited += 1
        }
        for key in keys { try Self.sh("SSH_AUTH_SOCK=\(socket) ssh-add -q \(key) 2>/dev/null") }
        return socket
    }

    /// Signs `key`'s public half for the test user with ``userAuthority``; returns the certificate's path.
    @discardableResult
    public func certify(_ key: String) throws -> String {
        _ = try Self.output("/usr/bin/ssh-keygen", ["-q", "-s", userAuthority, "-I", "golive-test", "-n", user, key + ".pub"])
        return key + "-cert.pub"
    }

    /// An ``SSHTarget`` for a host with the given authentication (default: the ed25519 key).
    public func target(_ host: Host, auth: [SSHAuthMethod]? = nil, connectTimeout: Duration = .seconds(10))
        -> SSHTarget
    {
        SSHTarget(
            name: host.name, address: host.address, port: host.port, user: user,
            authentication: auth ?? [.privateKeyFile(path: ed25519Key, passphrase: nil)],
            knownHostsFiles: [knownHosts], connectTimeout: connectTimeout)
    }

    /// Stops every process started here (by pid) and removes the directory. Safe to call twice.
    public func stop() {
        for (pid, process) in processes {
            _ = try? Self.sh("pkill -TERM -P \(pid) 2>/dev/null; true")
            process.signal(SIGTERM)
            process.wait()
        }
        processes.removeAll()
        for agent in agents {
            agent.signal(SIGTERM)
            agent.wait()
        }
        agents.removeAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func writeShadow(password: String) throws {
        let hash = try Self.output(
            "/usr/bin/openssl", ["passwd", "-6", password])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let shadow = try String(contentsOfFile: "/etc/shadow", encoding: .utf8)
        let lines = shadow.split(separator: "\n").map { line -> String in
            var fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if fields.first == user, fields.count > 1 { fields[1] = hash }
            return fields.joined(separator: ":")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: directory + "/shadow", atomically: true, encoding: .utf8)
        chmod(directory + "/shadow", 0o640)
    }

    // MARK: helpers

    /// A new private directory under the system's temporary directory (`golive-NAME-XXXXXX`).
    public static func makeTemporaryDirectory(name: String = "hosts") throws -> String {
        let base = FileManager.default.temporaryDirectory.path
        var template = Array("\(base)/golive-\(name)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw TestHostsError(message: "mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// Makes a key pair (`ssh-keygen -t TYPE`).
    public static func keygen(type: String, path: String, bits: String? = nil, passphrase: String = "") throws {
        try HostTools.keygen(type: type, path: path, bits: bits, passphrase: passphrase)
    }

    @discardableResult
    static func sh(_ script: String) throws -> String { try HostTools.sh(script) }

    /// Runs a program and returns its standard output; throws on a non-zero exit.
    public static func output(_ executable: String, _ arguments: [String]) throws -> String {
        try HostTools.output(executable, arguments)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() throws -> Int { try HostTools.freePort() }

    /// Waits (bounded, 15 s) until something on the port sends an SSH banner.
    static func waitForBanner(port: Int) throws { try HostTools.waitForListener(port: port, prefix: "SSH-2.0") }
}

/// A failure to set up test hosts.
public typealias TestHostsError = SandboxError
