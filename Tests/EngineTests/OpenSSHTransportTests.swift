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
}
