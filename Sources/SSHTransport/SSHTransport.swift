import Engine
import Foundation
import Playbook
import SSH
import Synchronization

/// The engine's transport over SSH. Each host gets one of two implementations (``TransportDecision``):
/// libssh2, embedded, where inventory hosts become ``SSHTarget``s (inventory settings first, then
/// `~/.ssh/config`, then defaults) connected through one shared ``SSHClient``; or the system's
/// OpenSSH client through a ControlMaster per host (``OpenSSHTransport``), for every login libssh2
/// cannot make.
public final class SSHTransport: Transport {
    /// Options that are not in the inventory.
    public struct Options: Sendable {
        /// Append unknown host keys to known_hosts (and say so) instead of refusing.
        public var acceptNewHostKeys = false
        /// The OpenSSH client config to honour.
        public var sshConfigPath: String = NSHomeDirectory() + "/.ssh/config"
        /// Default connect timeout.
        public var connectTimeout: Duration = .seconds(10)
        /// Keepalive interval; a dead peer is noticed within about three.
        public var keepaliveInterval: Duration = .seconds(5)
        /// The transport for every host, over the inventory's `transport:` (`--transport`).
        public var transport: TransportChoice?
        /// The OpenSSH client.
        public var sshExecutable = OpenSSHTransport.findSSH()
        /// Creates default options.
        public init() {}
    }

    let inventory: Inventory
    let options: Options
    private let config: SSHConfigFile
    private let client: SSHClient
    private let inventoryDirectory: String
    let openssh: OpenSSHTransport
    /// ssh_config's settings per name, resolved once (a `Match exec` config costs an `ssh -G` each time).
    private let resolutions = Mutex<[String: SSHConfigFile.Settings]>([:])
    /// Files read while deciding hosts' transports, read once however many hosts share them:
    /// each key file's type, each set of known_hosts files.
    let keyTypes = Mutex<[String: String]>([:])
    let knownHostsFiles = Mutex<[[String]: KnownHosts]>([:])

    /// Creates a transport for the hosts of `inventory`.
    public init(inventory: Inventory, options: Options = Options(), client: SSHClient = SSHClient()) {
        self.inventory = inventory
        self.options = options
        self.client = client
        config = (try? SSHConfigFile(path: options.sshConfigPath)) ?? SSHConfigFile()
        inventoryDirectory = URL(fileURLWithPath: inventory.file).deletingLastPathComponent().path
        openssh = OpenSSHTransport(
            ssh: options.sshExecutable, userConfig: options.sshConfigPath, connectTimeout: options.connectTimeout,
            secretVariables: Set(inventory.secrets.values.compactMap(\.environmentVariable)))
    }

    /// Stops the SSH event loops and removes OpenSSH's private directory (connections closed first).
    public func shutdown() {
        client.shutdown()
        openssh.shutdown()
    }

    public func connect(to host: InventoryHost) async throws -> any HostConnection {
        if host.ssh.connection == .local {
            let reason = inventory.format == .ansible ? "ansible_connection: local" : "connection: local in the inventory"
            return LocalHostConnection(host: host.name, reason: reason, unsetting: openssh.secretVariables)
        }
        let decision = try decision(for: host)
        if decision.transport == .openssh { return try await connectOpenSSH(host, reason: decision.reason) }
        let target = try target(for: host, depth: 0)
        do {
            let connection = try await client.connect(target)
            return SSHHostConnection(connection: connection, transportReason: decision.reason)
        } catch let error as SSHError {
            // `auto`: what libssh2 cannot negotiate (the server's host key algorithms, a key type), OpenSSH may.
            if decision.automatic, error.kind == .handshakeFailed || error.kind == .unsupportedKey {
                let why = error.kind == .unsupportedKey ? "libssh2 cannot use its keys" : "libssh2 could not negotiate with the server"
                return try await connectOpenSSH(host, reason: why)
            }
            throw TransportError(kind: Self.kind(error), host: host.name, message: error.description)
        }
    }

    static func kind(_ error: SSHError) -> TransportError.Kind {
        switch error.kind {
        case .hostKeyUnknown, .hostKeyMismatch, .hostKeyRevoked: .hostKey
        case .authenticationFailed, .unsupportedKey: .authentication
        case .connectionLost, .channelFailed, .closed: .connectionLost
        case .cancelled: .cancelled
        case .sftpFailed, .localFile: .transfer
        default: .unreachable
        }
    }

    /// The SSH target of an inventory host, jump hosts included.
    public func target(for host: InventoryHost, depth: Int = 0) throws -> SSHTarget {
        guard depth < 8 else {
            throw TransportError(kind: .configuration, host: host.name, message: "\(host.name): jump chain is too long")
        }
        let fromConfig = resolved(host.address)
        let address = host.addressGiven ? host.address : (fromConfig.hostName ?? host.address)
        let user = host.ssh.user ?? fromConfig.user ?? NSUserName()
        let port = host.ssh.port ?? fromConfig.port ?? 22
        var auth: [SSHAuthMethod] = []
        let passphrase = host.ssh.passphraseSecret.flatMap { inventory.secrets[$0]?.value }.map { SSHSecret($0.revealForUse()) }
        if let identity = host.ssh.identity {
            auth.append(.privateKeyFile(path: expand(identity), passphrase: passphrase))
        }
        if fromConfig.identityAgent != "none", ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] != nil || fromConfig.identityAgent != nil {
            auth.append(.agent(socket: fromConfig.identityAgent.map(expand)))
        }
        if host.ssh.identity == nil {
            let files = fromConfig.identityFiles.isEmpty
                ? ["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa"].map(expand).filter { FileManager.default.fileExists(atPath: $0) }
                : fromConfig.identityFiles.map(expand)
            auth += files.map { .privateKeyFile(path: $0, passphrase: passphrase) }
        }
        if let password = host.ssh.passwordSecret.flatMap({ inventory.secrets[$0]?.value }) {
            auth.append(.password(SSHSecret(password.revealForUse())))
        }
        let knownHosts = host.ssh.knownHosts.map { [expand($0)] }
            ?? (fromConfig.userKnownHostsFiles.isEmpty ? [expand("~/.ssh/known_hosts")] : fromConfig.userKnownHostsFiles.map(expand))
        let timeout = host.ssh.connectTimeout ?? fromConfig.connectTimeout.map { Duration.seconds($0) } ?? options.connectTimeout
        var jumps: [SSHTarget] = []
        if let jump = host.ssh.jump {
            guard let jumpHost = inventory.host(named: jump) else {
                throw TransportError(kind: .configuration, host: host.name, message: "\(host.name): jump host '\(jump)' is not in the inventory")
            }
            let jumpTarget = try target(for: jumpHost, depth: depth + 1)
            jumps = jumpTarget.jumps + [jumpTarget.withoutJumps]
        } else if let proxy = host.ssh.proxyJump ?? fromConfig.proxyJump, proxy != "none" {
            for hop in proxy.split(separator: ",") {
                jumps.append(try hopTarget(String(hop), knownHosts: knownHosts, auth: auth, timeout: timeout, depth: depth + 1))
            }
        }
        return SSHTarget(
            name: host.name, address: address, port: port, user: user, authentication: auth, knownHostsFiles: knownHosts,
            hostKeyPolicy: options.acceptNewHostKeys ? .acceptNew : .strict, connectTimeout: timeout,
            keepaliveInterval: options.keepaliveInterval, jumps: jumps)
    }

    /// A `[user@]host[:port]` ProxyJump hop from ssh_config; an inventory host of that name is used as is.
    private func hopTarget(_ hop: String, knownHosts: [String], auth: [SSHAuthMethod], timeout: Duration, depth: Int) throws -> SSHTarget {
        let (user, name, port) = Self.hop(hop)
        if let host = inventory.host(named: name) { return try target(for: host, depth: depth).withoutJumps }
        let settings = resolved(name)
        return SSHTarget(
            name: name, address: settings.hostName ?? name, port: port ?? settings.port ?? 22,
            user: user ?? settings.user ?? NSUserName(),
            authentication: settings.identityFiles.map { .privateKeyFile(path: expand($0), passphrase: nil) } + auth,
            knownHostsFiles: knownHosts, hostKeyPolicy: options.acceptNewHostKeys ? .acceptNew : .strict,
            connectTimeout: timeout, keepaliveInterval: options.keepaliveInterval)
    }

    /// A ProxyJump hop's parts: `[user@]host[:port]` (an IPv6 address in brackets).
    static func hop(_ hop: String) -> (user: String?, host: String, port: Int?) {
        var rest = Substring(hop)
        var user: String?
        if let at = rest.firstIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var port: Int?
        if let colon = rest.lastIndex(of: ":"), !rest.contains("]") || rest.hasSuffix("]") == false {
            port = Int(rest[rest.index(after: colon)...])
            if port != nil { rest = rest[..<colon] }
        }
        if rest.hasPrefix("["), rest.hasSuffix("]") { rest = rest.dropFirst().dropLast() }
        return (user, String(rest), port)
    }

    /// ssh_config's settings for a name: golive's own resolution, or `ssh -G`'s where the config holds
    /// what only OpenSSH can evaluate (`Match exec`, `canonical`, ...). From `ssh -G`, identity files
    /// are its list (its defaults included) less those that do not exist.
    func resolved(_ name: String) -> SSHConfigFile.Settings {
        if let known = resolutions.withLock({ $0[name] }) { return known }
        var settings = config.settings(for: name)
        if settings.needsOpenSSH,
            var asked = SSHConfigFile.resolvedByOpenSSH(
                name, configPath: options.sshConfigPath, ssh: options.sshExecutable, unsetting: openssh.secretVariables)
        {
            asked.identityFiles = asked.identityFiles.filter { FileManager.default.fileExists(atPath: expand($0)) }
            if asked.hostName == name.lowercased() { asked.hostName = nil }
            asked.needsOpenSSH = true
            settings = asked
        }
        resolutions.withLock { $0[name] = settings }
        return settings
    }

    func expand(_ path: String) -> String {
        if path == "~" { return NSHomeDirectory() }
        if path.hasPrefix("~/") { return NSHomeDirectory() + path.dropFirst(1) }
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: inventoryDirectory + "/" + path).standardizedFileURL.path
    }
}

extension SSHTarget {
    fileprivate var withoutJumps: SSHTarget {
        var copy = self
        copy.jumps = []
        return copy
    }
}
