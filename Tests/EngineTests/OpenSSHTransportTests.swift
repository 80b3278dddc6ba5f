import Engine
import Foundation
import GoliveTestSupport
import Playbook
import SSHTransport
import Testing

/// The logins only OpenSSH can make, against real sshd, and `auto` choosing it for exactly those
/// hosts: an RSA key (rsa-sha2-512), a user certificate signed by a CA sshd trusts, a host
/// certificate checked through `@cert-authority`, `Match` and `ProxyCommand` in ssh_config.
@Suite(.serialized) struct OpenSSHTransportTests {
    /// An inventory of `hosts` lines and a transport over it with `config` as the user's ssh_config.
    private func transport(_ hosts: TestHosts, _ lines: String, config: String = "", acceptNew: Bool = false) throws
        -> (SSHTransport, Inventory)
    {
        let path = hosts.directory + "/inventory-\(UUID().uuidString).yml"
        try "environment: t\nhosts:\n\(lines)".write(toFile: path, atomically: true, encoding: .utf8)
        let inventory = try Inventory.load(file: path).0
        let configPath = hosts.directory + "/ssh_config-\(UUID().uuidString)"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var options = SSHTransport.Options()
        options.sshConfigPath = configPath
        options.acceptNewHostKeys = acceptNew
        options.connectTimeout = .seconds(5)
        return (SSHTransport(inventory: inventory, options: options), inventory)
    }

    private func host(_ inventory: Inventory, _ name: String) throws -> InventoryHost {
        try #require(inventory.host(named: name))
    }

    @Test func anRSAKeyLogsInThroughOpenSSHWhichAutoChooses() async throws {
        let hosts = try TestHosts(count: 1)
        defer { hosts.stop() }
        let port = hosts.hosts[0].port
        let (transport, inventory) = try transport(
            hosts, """
                  rsa: { address: 127.0.0.1, port: \(port), user: \(hosts.user), identity: \(hosts.rsaKey), known_hosts: \(hosts.knownHosts) }
                  forced: { address: 127.0.0.1, port: \(port), user: \(hosts.user), identity: \(hosts.rsaKey), known_hosts: \(hosts.knownHosts), transport: libssh2 }
                """)
        defer { transport.shutdown() }
        let decision = try transport.decision(for: try host(inventory, "rsa"))
        #expect(decision.transport == .openssh && decision.reason?.contains("is RSA") == true)
        let connection = try await transport.connect(to: try host(inventory, "rsa"))
        #expect(connection.summary.transport == "openssh" && connection.summary.authMethod.contains("RSA"))
        #expect(try await connection.run("echo rsa", timeout: .seconds(30), output: nil).stdoutText == "rsa\n")
        await connection.close()
        // The server refuses SHA-1 signatures: libssh2 alone cannot log in with the same key.
        let refused = await #expect(throws: TransportError.self) { try await transport.connect(to: try host(inventory, "forced")) }
        #expect(refused?.kind == .authentication)
    }

    @Test func aUserCertificateSignedByATrustedCALogsIn() async throws {
        var options = TestHosts.Options()
        options.trustUserCertificates = true
        let hosts = try TestHosts(count: 1, options: options)
        defer { hosts.stop() }
        // A key sshd has never seen: only its certificate lets it in.
        let key = hosts.directory + "/id_certified"
        try TestHosts.keygen(type: "ed25519", path: key)
        try hosts.certify(key)
        let (transport, inventory) = try transport(
            hosts, "  cert: { address: 127.0.0.1, port: \(hosts.hosts[0].port), user: \(hosts.user), identity: \(key), known_hosts: \(hosts.knownHosts) }\n")
        defer { transport.shutdown() }
        let decision = try transport.decision(for: try host(inventory, "cert"))
        #expect(decision.transport == .openssh && decision.reason?.contains("certificate") == true)
        let connection = try await transport.connect(to: try host(inventory, "cert"))
        #expect(connection.summary.authMethod.contains("CERT"))
        #expect(try await connection.run("id -un", timeout: .seconds(30), output: nil).stdoutText == hosts.user + "\n")
        await connection.close()
    }

    @Test func aHostCertificateIsCheckedThroughACertAuthorityLine() async throws {
        var options = TestHosts.Options()
        options.hostCertificates = true
        options.writeKnownHosts = false
        let hosts = try TestHosts(count: 1, options: options)
        defer { hosts.stop() }
        let authority = try String(contentsOfFile: hosts.hostAuthority + ".pub", encoding: .utf8)
        let knownHosts = hosts.directory + "/known_hosts_ca"
        try "@cert-authority [127.0.0.1]:* \(authority)".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let (transport, inventory) = try transport(
            hosts, """
                  ca: { address: 127.0.0.1, port: \(hosts.hosts[0].port), user: \(hosts.user), identity: \(hosts.ed25519Key), known_hosts: \(knownHosts) }
                  other: { address: 127.0.0.1, port: \(hosts.hosts[0].port), user: \(hosts.user), identity: \(hosts.ed25519Key), known_hosts: \(knownHosts), transport: libssh2 }
                """)
        defer { transport.shutdown() }
        let decision = try transport.decision(for: try host(inventory, "ca"))
        #expect(decision.transport == .openssh && decision.reason?.contains("@cert-authority") == true)
        let connection = try await transport.connect(to: try host(inventory, "ca"))
        #expect(connection.summary.hostKey.hasPrefix("ED25519-CERT SHA256:"))
        await connection.close()
        // libssh2 cannot check a certificate: the host is unknown to it.
        let refused = await #expect(throws: TransportError.self) { try await transport.connect(to: try host(inventory, "other")) }
        #expect(refused?.kind == .hostKey)
    }

    @Test func matchAndProxyCommandInSSHConfigAreHonouredAndAutoMixesTransportsInOneRun() async throws {
        let hosts = try TestHosts(count: 2)
        defer { hosts.stop() }
        let (jump, inner) = (hosts.hosts[0], hosts.hosts[1])
        let config = """
            Match originalhost matched
              HostName 127.0.0.1
              Port \(inner.port)
              User \(hosts.user)
              IdentityFile \(hosts.ed25519Key)
              UserKnownHostsFile \(hosts.knownHosts)
            Host proxied
              HostName 127.0.0.1
              Port \(inner.port)
              User \(hosts.user)
              IdentityFile \(hosts.ed25519Key)
              UserKnownHostsFile \(hosts.knownHosts)
              ProxyCommand ssh -F /dev/null -i \(hosts.ed25519Key) -o UserKnownHostsFile=\(hosts.knownHosts) -o BatchMode=yes -l \(hosts.user) -p \(jump.port) -W %h:%p 127.0.0.1
            Host plain
              HostName 127.0.0.1
              Port \(jump.port)
              User \(hosts.user)
              IdentityFile \(hosts.ed25519Key)
              UserKnownHostsFile \(hosts.knownHosts)

            """
        let (transport, inventory) = try transport(hosts, "  matched:\n  proxied:\n  plain:\n", config: config)
        defer { transport.shutdown() }
        var seen: [String: String] = [:]
        for name in ["matched", "proxied", "plain"] {
            let connection = try await transport.connect(to: try host(inventory, name))
            seen[name] = connection.summary.transport
            let ssh = try await connection.run("echo $SSH_CONNECTION", timeout: .seconds(30), output: nil).stdoutText
            #expect(ssh.contains(" \(name == "plain" ? jump.port : inner.port)"), "\(name): \(ssh)")
            await connection.close()
        }
        #expect(seen == ["matched": "openssh", "proxied": "openssh", "plain": "libssh2"])
        #expect(try transport.decision(for: try host(inventory, "matched")).reason == "its ssh_config uses Match")
        #expect(try transport.decision(for: try host(inventory, "proxied")).reason == "its ssh_config sets ProxyCommand")
    }

    @Test func autoGivesEachLoginItsTransportInOneFleet() async throws {
        var options = TestHosts.Options()
        options.trustUserCertificates = true
        options.hostCertificates = true
        let hosts = try TestHosts(count: 1, options: options)
        defer { hosts.stop() }
        let certified = hosts.directory + "/id_certified"
        try TestHosts.keygen(type: "ed25519", path: certified)
        try hosts.certify(certified)
        let authority = try String(contentsOfFile: hosts.hostAuthority + ".pub", encoding: .utf8)
        let caKnownHosts = hosts.directory + "/known_hosts_ca"
        try "@cert-authority [127.0.0.1]:* \(authority)".write(toFile: caKnownHosts, atomically: true, encoding: .utf8)
        let base = "address: 127.0.0.1, port: \(hosts.hosts[0].port), user: \(hosts.user)"
        let (transport, inventory) = try transport(
            hosts, """
                  plain: { \(base), identity: \(hosts.ed25519Key), known_hosts: \(hosts.knownHosts) }
                  rsa: { \(base), identity: \(hosts.rsaKey), known_hosts: \(hosts.knownHosts) }
                  certificate: { \(base), identity: \(certified), known_hosts: \(hosts.knownHosts) }
                  authority: { \(base), identity: \(hosts.ed25519Key), known_hosts: \(caKnownHosts) }
                """)
        defer { transport.shutdown() }
        var got: [String: String] = [:]
        for name in ["plain", "rsa", "certificate", "authority"] {
            let connection = try await transport.connect(to: try host(inventory, name))
            got[name] = connection.summary.transport
            #expect(try await connection.run("echo $USER", timeout: .seconds(30), output: nil).stdoutText == hosts.user + "\n")
            await connection.close()
        }
        #expect(got == ["plain": "libssh2", "rsa": "openssh", "certificate": "openssh", "authority": "openssh"])
    }

    @Test func hostileInventoryValuesNeverReachSSHAsOptions() async throws {
        let hosts = try TestHosts(count: 1)
        defer { hosts.stop() }
        let marker = hosts.directory + "/pwned"
        let (transport, inventory) = try transport(
            hosts, """
                  user: { address: 127.0.0.1, port: \(hosts.hosts[0].port), user: "x -oProxyCommand=touch\(marker)", transport: openssh }
                  key: { address: 127.0.0.1, port: \(hosts.hosts[0].port), identity: "/tmp/a\\" ProxyCommand=touch \(marker)", transport: openssh }
                """)
        defer { transport.shutdown() }
        for name in ["user", "key"] {
            let error = await #expect(throws: TransportError.self) { try await transport.connect(to: try host(inventory, name)) }
            #expect(error?.kind == .configuration, "\(name): \(String(describing: error))")
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func aServerLibssh2CannotNegotiateWithIsHandedToOpenSSHUnderAuto() async throws {
        var options = TestHosts.Options()
        options.hostKeyType = "rsa"
        let hosts = try TestHosts(count: 1, options: options)
        defer { hosts.stop() }
        let line = "  old: { address: 127.0.0.1, port: \(hosts.hosts[0].port), user: \(hosts.user), identity: \(hosts.ed25519Key), known_hosts: \(hosts.knownHosts)"
        let (transport, inventory) = try transport(hosts, line + " }\n" + line.replacingOccurrences(of: "  old:", with: "  forced:") + ", transport: libssh2 }\n")
        defer { transport.shutdown() }
        // Nothing in the files says so: only the handshake shows it (the server offers rsa-sha2 host keys only).
        #expect(try transport.decision(for: try host(inventory, "old")).transport == .libssh2)
        let connection = try await transport.connect(to: try host(inventory, "old"))
        #expect(connection.summary.transport == "openssh" && connection.summary.transportReason?.contains("negotiate") == true)
        #expect(connection.summary.hostKey.hasPrefix("RSA SHA256:"))
        await connection.close()
        await #expect(throws: TransportError.self) { try await transport.connect(to: try host(inventory, "forced")) }
    }

    @Test func autoReadsEachReasonOffTheFilesAndStaysOnLibssh2Otherwise() throws {
        let hosts = try TestHosts(count: 1)
        defer { hosts.stop() }
        let skKey = hosts.directory + "/id_sk"
        // A security key's public half is enough to know its type; no token is needed to decide.
        try Self.securityKeyFile(at: skKey)
        let port = hosts.hosts[0].port
        let config = """
            Host pkcs
              PKCS11Provider /usr/lib/opensc-pkcs11.so
            Host kerberos
              GSSAPIAuthentication yes
            Host certfile
              CertificateFile ~/.ssh/none-cert.pub
            Host multiplexed
              ControlMaster auto
              ControlPath ~/.ssh/cm-%r@%h:%p
            Match exec "true"
              User \(hosts.user)

            """
        // No addresses: ssh_config is read for the host's name, as for an inventory that leaves it to the config.
        let base = "port: \(port), identity: \(hosts.ed25519Key)"
        let lines = """
              pkcs: { \(base) }
              kerberos: { \(base) }
              certfile: { \(base) }
              multiplexed: { \(base) }
              sk: { port: \(port), identity: \(skKey) }
              secret: { \(base), password: { secret: pw } }
              forced: { \(base), transport: openssh }
            secrets:
              pw: { env: GOLIVE_TEST_NO_SUCH_VARIABLE }
            """
        let matched = try transport(hosts, lines, config: config)
        defer { matched.0.shutdown() }
        func reason(_ name: String, in fleet: (SSHTransport, Inventory)) throws -> String? {
            let decision = try fleet.0.decision(for: try host(fleet.1, name))
            return decision.transport == .openssh ? (decision.reason ?? "forced") : nil
        }
        // `Match exec` applies to every host here: it is named first, whatever else the host has.
        #expect(try reason("pkcs", in: matched) == "its ssh_config uses Match")
        let plain = try transport(hosts, lines, config: config.components(separatedBy: "Match exec")[0])
        defer { plain.0.shutdown() }
        func plainReason(_ name: String) throws -> String? { try reason(name, in: plain) }
        #expect(try plainReason("pkcs") == "its ssh_config sets PKCS11Provider, which libssh2 cannot honour")
        #expect(try plainReason("kerberos") == "its ssh_config sets GSSAPIAuthentication yes, which libssh2 cannot honour")
        #expect(try plainReason("certfile") == "its ssh_config sets CertificateFile")
        #expect(try plainReason("multiplexed") == nil, "a ControlMaster of the user's is no reason")
        #expect(try plainReason("sk")?.contains("is a security key") == true)
        #expect(try plainReason("secret") == nil, "a password secret keeps a host on libssh2")
        #expect(try plainReason("forced") == "transport: openssh in the inventory")
    }

    /// Writes an `sk-ssh-ed25519@openssh.com` private key file (OpenSSH's format, unencrypted) whose
    /// public half is a made-up key: enough for anything that reads the type.
    static func securityKeyFile(at path: String) throws {
        func string(_ bytes: [UInt8]) -> [UInt8] {
            let count = UInt32(bytes.count)
            return [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)] + bytes
        }
        let type = Array("sk-ssh-ed25519@openssh.com".utf8)
        let publicKey = string(type) + string([UInt8](repeating: 7, count: 32)) + string(Array("ssh:".utf8))
        var blob = Array("openssh-key-v1".utf8) + [0]
        blob += string(Array("none".utf8)) + string(Array("none".utf8)) + string([]) + [0, 0, 0, 1] + string(publicKey)
        blob += string([UInt8](repeating: 0, count: 8))
        let body = Data(blob).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        try "-----BEGIN OPENSSH PRIVATE KEY-----\n\(body)\n-----END OPENSSH PRIVATE KEY-----\n".write(toFile: path, atomically: true, encoding: .utf8)
    }
}
