import Foundation
import System

#if canImport(Glibc)
    import Glibc
#endif

/// Local simulated servers for the demo and for trying playbooks: a real `sshd` per host, each with
/// its own directory (its "disk"), and a small HTTP service per host that serves the host's deployed
/// `current/` release (so `/health` changes with each deploy).
///
/// Run as root, each host gets a network namespace and an address of its own (``SandboxNetwork``:
/// sshd on port 22, HTTP on port 80, as on a real server); otherwise hosts share 127.0.0.1 and differ
/// by port. The daemons outlive the command that starts them; their pids are kept in `state.json`
/// and ``down()`` stops exactly those (and removes the sandbox's namespaces).
public struct Sandbox: Sendable {
    /// One simulated server.
    public struct Host: Codable, Sendable, Hashable {
        /// Inventory name.
        public var name: String
        /// The host's address: its own in a namespace, else 127.0.0.1.
        public var address: String
        /// SSH port at ``address``.
        public var sshPort: Int
        /// HTTP port at ``address``.
        public var httpPort: Int
        /// The host's directory.
        public var root: String
        /// The application directory (`root/srv/app`): `releases/`, `current` symlink.
        public var appDirectory: String
        /// The host's lock directory (`GOLIVE_LOCK_ROOT` of its sessions, then `lock`).
        public var lockDirectory: String { root + "/var/tmp/golive/lock" }
        /// sshd's pid.
        public var sshdPID: Int32
        /// The HTTP service's pid.
        public var httpPID: Int32
        /// The host's network namespace, when it has one.
        public var network: SandboxNetwork.Slot?
    }

    /// How the hosts are reached.
    public enum NetworkMode: String, Sendable, CaseIterable {
        /// A network namespace and address per host when running as root, else loopback ports.
        case automatic
        /// Every host on 127.0.0.1, on ports of its own.
        case loopback
        /// A network namespace and address per host (needs root).
        case namespaces
    }

    /// The key the inventory logs in with.
    public enum ClientKey: String, Sendable, CaseIterable {
        /// An ed25519 key in the hosts' authorized_keys.
        case ed25519
        /// An RSA key in the hosts' authorized_keys (libssh2 cannot sign with it: OpenSSH logs in).
        case rsa
        /// An ed25519 key no host has authorized, with a certificate signed by the sandbox's user CA,
        /// which every host's sshd trusts (`TrustedUserCAKeys`).
        case certificate

        /// The key's file name in the sandbox's directory.
        var fileName: String {
            switch self {
            case .ed25519: "id_ed25519"
            case .rsa: "id_rsa"
            case .certificate: "id_certified"
            }
        }
    }

    /// Whom the hosts' sshd lets in, and so whom the inventory logs in as.
    public enum Login: Sendable, Hashable {
        /// The user running the sandbox (root logins allowed): no escalation is needed.
        case current
        /// ``SandboxUsers/deploy`` (NOPASSWD sudo); root logins refused, as in production.
        case deploy
        /// ``SandboxUsers/password``, whose sudo asks for its password (this machine's sandbox
        /// password, made once and shared by every sandbox: see ``SandboxUsers/ensure(password:)``);
        /// root logins refused.
        case password

        /// The login user's name (nil: the current user).
        var user: String? {
            switch self {
            case .current: nil
            case .deploy: SandboxUsers.deploy
            case .password: SandboxUsers.password
            }
        }
    }

    /// Where keys, configs, host directories and the state file live.
    public let directory: String

    /// A sandbox rooted at `directory` (created on `up`).
    public init(directory: String) {
        // sshd re-executes itself and needs absolute paths.
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
    }

    private var statePath: String { directory + "/state.json" }
    /// The client key of that kind (the inventory names the one `up` was given).
    public func clientKey(_ kind: ClientKey) -> String { directory + "/" + kind.fileName }
    /// The user CA's public key, which every host's sshd trusts once `up` made it (`--key certificate`).
    private var userAuthority: String { directory + "/user_ca" }
    /// The known_hosts file holding every host's key.
    public var knownHosts: String { directory + "/known_hosts" }
    /// The password of ``SandboxUsers/password`` (0600), when the hosts log in as it.
    public var sudoPasswordFile: String { directory + "/sudo-password" }
    /// The environment variable the inventory reads that password from.
    public static let sudoPasswordVariable = "GOLIVE_SANDBOX_SUDO_PASSWORD"

    /// The running hosts, from the state file.
    public func hosts() -> [Host] {
        guard let data = FileManager.default.contents(atPath: statePath) else { return [] }
        return (try? JSONDecoder().decode([Host].self, from: data)) ?? []
    }

    /// Starts `count` web hosts (stopping any earlier ones first), deploys release 1.0.0 on each, and
    /// writes an inventory for them at `inventoryPath`. With `tiers`, also a database server `db1`
    /// (group `database`) and a load balancer `lb1` (group `lb`), whose backends file lists every
    /// web host as enabled and whose action log records each drain and enable
    /// (`playbooks/tiers.yml`). With a ``Login`` other than `.current`, the hosts refuse root logins
    /// and the inventory logs in as that user; the hosts' files stay root's, so changing them takes
    /// `become` (see ``SandboxUsers``).
    @discardableResult
    public func up(
        count: Int, inventoryPath: String, release: String = "1.0.0", http: Bool = true, network mode: NetworkMode = .automatic,
        tiers: Bool = false, login: Login = .current, key: ClientKey = .ed25519
    ) throws -> [Host] {
        down()
        let sudoPassword = login == .current ? nil : try SandboxUsers.ensure(password: login == .password)
        let network = SandboxNetwork(directory: directory)
        let namespaces: Bool
        switch mode {
        case .loopback: namespaces = false
        case .automatic: namespaces = SandboxNetwork.isAvailable
        case .namespaces:
            guard SandboxNetwork.isAvailable else {
                throw SandboxError(message: "network namespaces need root and iproute2's `ip`; use --network loopback")
            }
            namespaces = true
        }
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let user = login.user {
            // sshd reads the authorized keys as the login user: every directory above them must let it through.
            var path = URL(fileURLWithPath: directory).deletingLastPathComponent()
            while path.path != "/" {
                if let mode = (try? fileManager.attributesOfItem(atPath: path.path))?[.posixPermissions] as? Int, mode & 0o001 == 0 {
                    throw SandboxError(
                        message: "\(user) cannot reach \(directory): \(path.path) does not let others through (mode \(String(mode, radix: 8))); "
                            + "choose another --directory, or --login self")
                }
                path.deleteLastPathComponent()
            }
        }
        _ = try? fileManager.removeItem(atPath: sudoPasswordFile)
        if let sudoPassword {
            try sudoPassword.write(toFile: sudoPasswordFile, atomically: true, encoding: .utf8)
            chmod(sudoPasswordFile, 0o600)
        }
        // Others may traverse it (a host's non-root login user reaches its home through it); the
        // keys inside are 0600.
        chmod(directory, 0o755)
        let clientKey = clientKey(key)
        if !fileManager.fileExists(atPath: clientKey) {
            try HostTools.keygen(type: key == .rsa ? "rsa" : "ed25519", path: clientKey, bits: key == .rsa ? "3072" : nil)
        }
        _ = try? fileManager.removeItem(atPath: userAuthority + ".pub")
        if key == .certificate {
            // Not authorized: only its certificate, signed by a CA the hosts trust, lets it in.
            if !fileManager.fileExists(atPath: userAuthority) { try HostTools.keygen(type: "ed25519", path: userAuthority + ".key") }
            try fileManager.copyItem(atPath: userAuthority + ".key.pub", toPath: userAuthority + ".pub")
            let principal = login.user ?? String(cString: getpwuid(geteuid()).pointee.pw_name)
            _ = try? fileManager.removeItem(atPath: clientKey + "-cert.pub")
            _ = try HostTools.output("/usr/bin/ssh-keygen", ["-q", "-s", userAuthority + ".key", "-I", "golive-sandbox", "-n", principal, clientKey + ".pub"])
            _ = fileManager.createFile(atPath: directory + "/authorized_keys.tmp", contents: nil)
        } else {
            try fileManager.copyItem(atPath: clientKey + ".pub", toPath: directory + "/authorized_keys.tmp")
        }
        _ = try? fileManager.removeItem(atPath: directory + "/authorized_keys")
        try fileManager.moveItem(atPath: directory + "/authorized_keys.tmp", toPath: directory + "/authorized_keys")
        if geteuid() == 0 { try? fileManager.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true) }
        var hosts: [Host] = []
        var knownHostsText = ""
        do {
            let octet = namespaces ? try network.allocateOctet() : 0
            let names = (1...max(1, count)).map { "web\($0)" } + (tiers ? ["db1", "lb1"] : [])
            for (offset, name) in names.enumerated() {
                let index = offset + 1
                let serves = http && name.hasPrefix("web")
                let root = directory + "/hosts/" + name
                let app = root + "/srv/app"
                try? fileManager.removeItem(atPath: root)
                try fileManager.createDirectory(atPath: app + "/releases/" + release, withIntermediateDirectories: true)
                try "ok \(release)\n".write(toFile: app + "/releases/\(release)/health", atomically: true, encoding: .utf8)
                try "<h1>\(name) runs \(release)</h1>\n".write(
                    toFile: app + "/releases/\(release)/index.html", atomically: true, encoding: .utf8)
                try fileManager.createSymbolicLink(atPath: app + "/current", withDestinationPath: "releases/\(release)")
                // Every login user may create its lock under the host's /var/tmp, as on a real server.
                try fileManager.createDirectory(atPath: root + "/var/tmp", withIntermediateDirectories: true)
                chmod(root + "/var/tmp", 0o1777)
                // What the other example playbooks expect: a schema and a config directory.
                try fileManager.createDirectory(atPath: app + "/schema", withIntermediateDirectories: true)
                try "41_initial\n".write(toFile: app + "/schema/version", atomically: true, encoding: .utf8)
                try fileManager.createDirectory(atPath: app + "/config", withIntermediateDirectories: true)
                try "request_timeout = 10s\n".write(toFile: app + "/config/app.conf", atomically: true, encoding: .utf8)
                if name == "lb1" {
                    // The balancer's state: one enabled backend a line, and the log of what it was told.
                    try fileManager.createDirectory(atPath: root + "/etc/lb", withIntermediateDirectories: true)
                    let backends = names.filter { $0.hasPrefix("web") }.map { $0 + "\n" }.joined()
                    try backends.write(toFile: root + "/etc/lb/backends", atomically: true, encoding: .utf8)
                    try "".write(toFile: root + "/etc/lb/actions.log", atomically: true, encoding: .utf8)
                }
                let hostKey = root + "/ssh_host_ed25519_key"
                try HostTools.keygen(type: "ed25519", path: hostKey)
                var slot: SandboxNetwork.Slot?
                let address: String, sshPort: Int, httpPort: Int, httpBind: String
                if namespaces {
                    let made = network.slot(index: index - 1, name: name, octet: octet)
                    try network.create(made)
                    slot = made
                    (address, sshPort, httpPort, httpBind) = (made.hostAddress, 22, 80, "0.0.0.0")
                } else {
                    address = "127.0.0.1"
                    sshPort = try HostTools.freePort()
                    var free = try HostTools.freePort()
                    while free == sshPort { free = try HostTools.freePort() }
                    (httpPort, httpBind) = (free, address)
                }
                let sshd = try startSSHD(root: root, address: address, port: sshPort, slot: slot, rootLogin: login == .current)
                var httpPID: Int32 = 0
                if serves {
                    httpPID = try daemon(
                        "/usr/bin/python3",
                        ["-m", "http.server", String(httpPort), "--bind", httpBind, "--directory", app + "/current"],
                        slot: slot, log: root + "/http.log"
                    ).pid
                }
                hosts.append(
                    Host(
                        name: name, address: address, sshPort: sshPort, httpPort: serves ? httpPort : 0, root: root, appDirectory: app,
                        sshdPID: sshd.pid, httpPID: httpPID, network: slot))
                try save(hosts)
                knownHostsText += try HostTools.knownHostsLines(
                    address: address, port: sshPort, publicKeyFiles: [hostKey + ".pub"])
            }
            for host in hosts {
                try HostTools.waitForListener(address: host.address, port: host.sshPort, prefix: "SSH-2.0")
                if host.httpPort > 0 { try HostTools.waitForListener(address: host.address, port: host.httpPort, prefix: nil) }
            }
        } catch {
            down()
            throw error
        }
        try knownHostsText.write(toFile: knownHosts, atomically: true, encoding: .utf8)
        try inventory(hosts, inventoryPath: inventoryPath, login: login, key: key).write(toFile: inventoryPath, atomically: true, encoding: .utf8)
        return hosts
    }

    /// Stops exactly the daemons recorded in the state file (by pid) and forgets them — first the
    /// services a stack started on the hosts, if any (``SandboxServices``) — and says what became
    /// of those services.
    @discardableResult
    public func down() -> SandboxServices.Outcome {
        let services = SandboxServices(directory: directory).stopAll()
        var pids: [Int32] = []
        for host in hosts() {
            for pid in [host.sshdPID, host.httpPID] where pid > 1 && isOurs(pid, host: host) { pids.append(pid) }
        }
        for pid in pids { Glibc.kill(pid, SIGTERM) }
        for pid in pids {
            if !ChildProcess.waitForExit(of: pid, timeout: .seconds(3)) { Glibc.kill(pid, SIGKILL) }
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
        try? FileManager.default.removeItem(atPath: statePath)
        SandboxNetwork(directory: directory).destroyAll()
        return services
    }

    /// Cuts a host off the network (packets dropped silently) until ``heal(_:)``; needs namespaces.
    public func partition(_ name: String) throws {
        guard let slot = hosts().first(where: { $0.name == name })?.network else {
            throw SandboxError(message: "\(name) has no network namespace to cut")
        }
        try SandboxNetwork(directory: directory).partition(slot)
    }

    /// Ends a partition made by ``partition(_:)``.
    public func heal(_ name: String) throws {
        guard let slot = hosts().first(where: { $0.name == name })?.network else {
            throw SandboxError(message: "\(name) has no network namespace")
        }
        try SandboxNetwork(directory: directory).heal(slot)
    }

    /// A pid still belongs to this sandbox when its command line names a path in the host's
    /// directory (`ROOT/...`: web1's is not web10's), as a recorded service's must.
    private func isOurs(_ pid: Int32, host: Host) -> Bool {
        guard let data = SandboxServices.commandLine(of: pid) else { return false }
        return SandboxServices.commandLine(data, namesPathUnder: host.root)
    }

    /// Kills a host's sshd and its connections (SIGKILL), as if the server died.
    public func kill(_ name: String) {
        guard let host = hosts().first(where: { $0.name == name }), isOurs(host.sshdPID, host: host) else { return }
        _ = try? HostTools.sh("pkill -KILL -P \(host.sshdPID) 2>/dev/null; true")
        Glibc.kill(host.sshdPID, SIGKILL)
        _ = ChildProcess.waitForExit(of: host.sshdPID, timeout: .seconds(3))
    }

    /// Restarts a host's sshd (same address, port and key) so that its sessions get `environment`
    /// as well, as if the server were configured differently (`FAKETIME` for a clock off by hours).
    public func restart(_ name: String, environment: [String: String]) throws {
        var all = hosts()
        guard let index = all.firstIndex(where: { $0.name == name }) else { throw SandboxError(message: "no host \(name)") }
        let host = all[index]
        kill(name)
        all[index].sshdPID = try startSSHD(
            root: host.root, address: host.address, port: host.sshPort, slot: host.network, environment: environment,
            rootLogin: (try? String(contentsOfFile: host.root + "/sshd_config", encoding: .utf8))?.contains("PermitRootLogin no") != true
        ).pid
        try save(all)
        try HostTools.waitForListener(address: host.address, port: host.sshPort, prefix: "SSH-2.0")
    }

    /// Writes a host's sshd_config (its key, its home, `environment` for its sessions) and starts its sshd.
    ///
    /// Each host gets a lock root of its own (`GOLIVE_LOCK_ROOT`, as a real server has its own
    /// `/var/tmp`), since the sandbox's hosts share this machine's filesystem.
    private func startSSHD(
        root: String, address: String, port: Int, slot: SandboxNetwork.Slot?, environment: [String: String] = [:], rootLogin: Bool = true
    ) throws -> ChildProcess {
        let config = root + "/sshd_config"
        var environment = environment
        environment["GOLIVE_LOCK_ROOT"] = environment["GOLIVE_LOCK_ROOT"] ?? root + "/var/tmp/golive"
        var text = HostTools.sshdConfig(
            address: address, port: port, hostKeys: [root + "/ssh_host_ed25519_key"], pidFile: root + "/sshd.pid",
            authorizedKeys: directory + "/authorized_keys", home: root, environment: environment, rootLogin: rootLogin)
        if FileManager.default.fileExists(atPath: userAuthority + ".pub") { text += "TrustedUserCAKeys \(userAuthority).pub\n" }
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        return try daemon("/usr/sbin/sshd", ["-D", "-e", "-f", config], slot: slot, log: root + "/sshd.log")
    }

    /// Runs a daemon of a host, inside its network namespace when it has one.
    private func daemon(_ executable: String, _ arguments: [String], slot: SandboxNetwork.Slot?, log: String) throws -> ChildProcess {
        let (program, argv) =
            slot.map { SandboxNetwork(directory: directory).inside($0, executable, arguments) } ?? (executable, arguments)
        return try ChildProcess(program, argv, stdout: log, stderr: log, newSession: true)
    }

    /// Per host: running or not.
    public func status() -> [(host: Host, running: Bool)] {
        hosts().map { host in (host, isOurs(host.sshdPID, host: host) && (host.httpPID == 0 || isOurs(host.httpPID, host: host))) }
    }

    private func save(_ hosts: [Host]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(hosts).write(to: URL(fileURLWithPath: statePath))
    }

    /// The inventory text for the hosts; paths are relative to the inventory's directory.
    func inventory(_ hosts: [Host], inventoryPath: String, login: Login = .current, key: ClientKey = .ed25519) -> String {
        let base = URL(fileURLWithPath: inventoryPath).deletingLastPathComponent().standardizedFileURL.path
        func relative(_ path: String) -> String {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            let from = base.split(separator: "/"), to = absolute.split(separator: "/")
            var common = 0
            while common < min(from.count, to.count) && from[common] == to[common] { common += 1 }
            return (Array(repeating: "..", count: from.count - common) + to[common...].map(String.init)).joined(separator: "/")
        }
        let user = login.user ?? String(cString: getpwuid(geteuid()).pointee.pw_name)
        let becomePassword = login.user == SandboxUsers.password ? "\n  become_password: { secret: sudo_password }" : ""
        var text = """
            # Written by `golive sandbox up`: \(hosts.count) simulated hosts on this machine (sshd + HTTP\(
                hosts.first?.network == nil ? " on loopback" : ", each in a network namespace of its own")).
            # Each host's files live under its app_dir; its HTTP service serves app_dir/current.
            environment: sandbox
            defaults:
              user: \(user)
              identity: \(relative(clientKey(key)))
              known_hosts: \(relative(knownHosts))
              connect_timeout: 10s\(becomePassword)
            groups:
              web:
                hosts:

            """
        let web = hosts.filter { $0.name.hasPrefix("web") }
        for host in web {
            text += "      \(host.name): { address: \(host.address), port: \(host.sshPort), vars: { http_port: \(host.httpPort), app_dir: \(host.appDirectory) } }\n"
        }
        if web.count >= 2 {
            // The last hosts double as database servers for playbooks/db-migration.yml.
            text += "  db:\n    hosts: [\(web.suffix(max(1, web.count / 2)).map(\.name).joined(separator: ", "))]\n"
            text += "    vars: { db_name: billing }\n"
        }
        let balancer = hosts.first { $0.name == "lb1" }
        for (group, name) in [("database", "db1"), ("lb", "lb1")] {
            guard let host = hosts.first(where: { $0.name == name }) else { continue }
            text += "  \(group):\n    hosts:\n"
            text += "      \(host.name): { address: \(host.address), port: \(host.sshPort), vars: { app_dir: \(host.appDirectory) } }\n"
        }
        text += "vars:\n  app: webapp\n  app_user: \(SandboxUsers.app)\n"
        if let balancer {
            // Every host's steps delegated to the balancer name its files.
            text += "  lb_backends: \(balancer.root)/etc/lb/backends\n  lb_actions: \(balancer.root)/etc/lb/actions.log\n"
        }
        if !becomePassword.isEmpty {
            text += "secrets:\n  sudo_password: { env: \(Self.sudoPasswordVariable) }   # the password is in \(sudoPasswordFile)\n"
        }
        return text
    }
}
