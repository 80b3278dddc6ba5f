import Engine
import Foundation
import Playbook
import SSH

extension SSHTransport {
    /// Which transport a host gets: `--transport`, else the inventory's `transport:`, else `auto`,
    /// which gives OpenSSH to a host that needs what libssh2 cannot do (in this order): its
    /// ssh_config uses `Match`, `ProxyCommand`, `CertificateFile` or a keyword libssh2 cannot honour;
    /// its keys are all RSA, security keys or have a certificate beside them; its known_hosts
    /// checks it through a `@cert-authority` line. Everything else gets libssh2.
    public func decision(for host: InventoryHost) throws -> TransportDecision {
        let chosen = options.transport ?? host.ssh.transport ?? .auto
        let why = options.transport != nil ? "--transport \(chosen.rawValue)" : "transport: \(chosen.rawValue) in the inventory"
        switch chosen {
        case .libssh2: return TransportDecision(transport: .libssh2, reason: why, automatic: false)
        case .openssh: return TransportDecision(transport: .openssh, reason: why, automatic: false)
        case .auto: break
        }
        if let reason = try openSSHReason(for: host) { return TransportDecision(transport: .openssh, reason: reason, automatic: true) }
        return TransportDecision(transport: .libssh2, automatic: true)
    }

    /// Why `auto` gives the host OpenSSH, or nil.
    private func openSSHReason(for host: InventoryHost) throws -> String? {
        if host.ssh.passwordSecret != nil || host.ssh.passphraseSecret != nil {
            return nil  // a password or passphrase from golive's secrets: libssh2 only
        }
        let config = resolved(host.address)
        if config.needsOpenSSH || config.usesMatch { return "its ssh_config uses Match" }
        if config.proxyCommand != nil { return "its ssh_config sets ProxyCommand" }
        if !config.certificateFiles.isEmpty { return "its ssh_config sets CertificateFile" }
        // A ControlMaster of the user's is a speed-up libssh2 does without, not a way of logging in.
        if let keyword = config.unsupported.first(where: { $0 != "controlmaster" }) { return "its ssh_config sets \(Self.keywordName(keyword)), which libssh2 cannot honour" }
        let candidates: [String]
        if let identity = host.ssh.identity {
            candidates = [expand(identity)]
        } else if !config.identityFiles.isEmpty {
            candidates = config.identityFiles.map(expand).filter { FileManager.default.fileExists(atPath: $0) }
        } else {
            candidates = ["id_ed25519", "id_ecdsa", "id_rsa", "id_ed25519_sk", "id_ecdsa_sk"].map { expand("~/.ssh/" + $0) }
                .filter { FileManager.default.fileExists(atPath: $0) }
        }
        if let certified = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "-cert.pub") }) {
            return "its key \(Self.tilde(certified)) has a certificate"
        }
        let types = candidates.map { path in
            if let known = keyTypes.withLock({ $0[path] }) { return known }
            let type = PrivateKeyFile.keyType(atPath: path) ?? ""
            keyTypes.withLock { $0[path] = type }
            return type
        }
        if !candidates.isEmpty, types.allSatisfy({ $0 == "ssh-rsa" || $0.hasPrefix("sk-") }) {
            let noun = types[0] == "ssh-rsa" ? "RSA" : "a security key"
            return candidates.count == 1
                ? "its key \(Self.tilde(candidates[0])) is \(noun)" : "its keys (\(candidates.map(Self.tilde).joined(separator: ", "))) are RSA or security keys"
        }
        let target = try target(for: host)
        let files = target.knownHostsFiles + ["/etc/ssh/ssh_known_hosts"]
        let knownHosts = knownHostsFiles.withLock { $0[files] } ?? (try? KnownHosts(files: files))
        if let knownHosts { knownHostsFiles.withLock { $0[files] = knownHosts } }
        if let knownHosts, knownHosts.certifiedByAuthority(target.knownHostsName) {
            return "its known_hosts checks it through a @cert-authority line"
        }
        return nil
    }

    /// Connects through OpenSSH: the host's inventory settings as ssh options, its master started.
    func connectOpenSSH(_ host: InventoryHost, reason: String?) async throws -> any HostConnection {
        let target = try target(for: host)
        let own = try openSSHSettings(for: host, depth: 0)
        let address: String
        do {
            address = try OpenSSHConfig.host(host.address)
        } catch {
            throw TransportError(kind: .configuration, host: host.name, message: "\(host.name): \(error)")
        }
        return try await openssh.connect(
            host: host.name, address: address, own: own, user: target.user, endpoint: target.endpoint,
            timeout: host.ssh.connectTimeout ?? target.connectTimeout, reason: reason)
    }

    /// The host's inventory settings as ssh options (first value wins: they go before the user's
    /// config), its host key policy, and an inventory jump host as a `ProxyCommand` with a config of its own.
    private func openSSHSettings(for host: InventoryHost, depth: Int) throws -> [(String, String)] {
        guard depth < 8 else {
            throw TransportError(kind: .configuration, host: host.name, message: "\(host.name): jump chain is too long")
        }
        if host.ssh.passwordSecret != nil || host.ssh.passphraseSecret != nil {
            throw TransportError(
                kind: .configuration, host: host.name,
                message: "\(host.name): the OpenSSH transport takes no password or passphrase from golive's secrets "
                    + "(ssh would have to be given it); load the key into ssh-agent, or use transport: libssh2")
        }
        var own: [(String, String)] = []
        do {
            if host.addressGiven { own.append(("HostName", try OpenSSHConfig.host(host.address))) }
            if let user = host.ssh.user { own.append(("User", try OpenSSHConfig.user(user))) }
            if let port = host.ssh.port { own.append(("Port", String(port))) }
            if let identity = host.ssh.identity { own.append(("IdentityFile", try OpenSSHConfig.path(expand(identity)))) }
            if let knownHosts = host.ssh.knownHosts { own.append(("UserKnownHostsFile", try OpenSSHConfig.path(expand(knownHosts)))) }
        } catch {
            throw TransportError(kind: .configuration, host: host.name, message: "\(host.name): \(error)")
        }
        if let timeout = host.ssh.connectTimeout { own.append(("ConnectTimeout", String(max(1, Int(timeout.seconds.rounded(.up)))))) }
        own.append(("ServerAliveInterval", String(max(1, Int(options.keepaliveInterval.seconds.rounded(.up))))))
        own.append(("ServerAliveCountMax", "3"))
        own.append(("StrictHostKeyChecking", try acceptsNewKey(host) ? "accept-new" : "yes"))
        if host.ssh.jump == nil, let proxyJump = host.ssh.proxyJump {
            // Hops outside the inventory: ssh's own ProxyJump would not pass them the host's
            // known_hosts and key, so each is a ProxyCommand with a config of its own, as an
            // inventory jump host is.
            var previous: (config: String, address: String)?
            for hop in proxyJump.split(separator: ",").map(String.init) {
                let (user, name, port) = Self.hop(hop)
                var settings: [(String, String)] = []
                do {
                    settings.append(("HostName", try OpenSSHConfig.host(name)))
                    if let user { settings.append(("User", try OpenSSHConfig.user(user))) }
                    if let identity = host.ssh.identity { settings.append(("IdentityFile", try OpenSSHConfig.path(expand(identity)))) }
                    if let knownHosts = host.ssh.knownHosts { settings.append(("UserKnownHostsFile", try OpenSSHConfig.path(expand(knownHosts)))) }
                } catch {
                    throw TransportError(kind: .configuration, host: host.name, message: "\(host.name): jump host '\(hop)': \(error)")
                }
                if let port { settings.append(("Port", String(port))) }
                settings.append(("StrictHostKeyChecking", options.acceptNewHostKeys ? "accept-new" : "yes"))
                if let previous {
                    settings.append(("ProxyCommand", OpenSSHConfig.proxyCommand(ssh: options.sshExecutable, config: previous.config, jumpHost: previous.address)))
                }
                previous = (try openssh.jumpConfig(settings), name)
            }
            if let previous {
                own.append(("ProxyCommand", OpenSSHConfig.proxyCommand(ssh: options.sshExecutable, config: previous.config, jumpHost: previous.address)))
            }
        }
        if let jump = host.ssh.jump {
            guard let jumpHost = inventory.host(named: jump) else {
                throw TransportError(kind: .configuration, host: host.name, message: "\(host.name): jump host '\(jump)' is not in the inventory")
            }
            let config = try openssh.jumpConfig(try openSSHSettings(for: jumpHost, depth: depth + 1))
            let address: String
            do {
                address = try OpenSSHConfig.host(jumpHost.address)
            } catch {
                throw TransportError(kind: .configuration, host: jumpHost.name, message: "\(jumpHost.name): \(error)")
            }
            own.append(("ProxyCommand", OpenSSHConfig.proxyCommand(ssh: options.sshExecutable, config: config, jumpHost: address)))
        }
        return own
    }

    /// `--accept-new-host-keys` becomes ssh's `accept-new` only for a host with no known key of any
    /// type (ssh's own would also add a key of a new type for a pinned host).
    private func acceptsNewKey(_ host: InventoryHost) throws -> Bool {
        guard options.acceptNewHostKeys else { return false }
        let target = try target(for: host)
        guard let knownHosts = try? KnownHosts(files: target.knownHostsFiles) else { return false }
        return knownHosts.knownTypes(for: target.knownHostsName).isEmpty && !knownHosts.certifiedByAuthority(target.knownHostsName)
    }

    /// `pkcs11provider` → `PKCS11Provider`, as ssh_config spells it.
    static func keywordName(_ keyword: String) -> String {
        let names = [
            "pkcs11provider": "PKCS11Provider", "securitykeyprovider": "SecurityKeyProvider",
            "gssapiauthentication": "GSSAPIAuthentication yes", "gssapidelegatecredentials": "GSSAPIDelegateCredentials",
            "canonicalizehostname": "CanonicalizeHostname", "hostkeyalias": "HostKeyAlias", "localcommand": "LocalCommand",
            "permitlocalcommand": "PermitLocalCommand", "controlmaster": "ControlMaster", "knownhostscommand": "KnownHostsCommand",
            "remotecommand": "RemoteCommand",
        ]
        return names[keyword] ?? keyword
    }

    static func tilde(_ path: String) -> String {
        let home = NSHomeDirectory()
        return path.hasPrefix(home + "/") ? "~" + path.dropFirst(home.count) : path
    }
}
