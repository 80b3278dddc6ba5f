import Foundation
import GoliveTestSupport
import SSH
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Connection set-up against real sshd: keys, agent, password, host keys, refusals, timeouts.
@Suite(.serialized) struct SSHConnectionTests {
    let hosts: TestHosts
    let client = SSHClient()

    init() throws {
        hosts = try TestHosts(count: 2)
    }

    @Test func connectsWithAnEd25519Key() async throws {
        let host = hosts.hosts[0]
        let connection = try await client.connect(hosts.target(host))
        #expect(connection.info.authMethod == "publickey \(hosts.ed25519Key)")
        #expect(connection.info.hostKey.type == "ssh-ed25519")
        let expected = try TestHosts.output("/usr/bin/ssh-keygen", ["-l", "-f", host.hostKeyFile + ".pub"])
        #expect(expected.contains(connection.info.hostKey.fingerprint))
        let result = try await connection.run("echo hello")
        #expect(result.stdoutText == "hello\n")
        await connection.close()
    }

    @Test func connectsWithAnECDSAKey() async throws {
        let target = hosts.target(hosts.hosts[0], auth: [.privateKeyFile(path: hosts.ecdsaKey, passphrase: nil)])
        let connection = try await client.connect(target)
        #expect(try await connection.run("true").succeeded)
    }

    @Test func connectsWithAnEncryptedKeyAndRejectsAWrongPassphrase() async throws {
        let good = hosts.target(
            hosts.hosts[0], auth: [.privateKeyFile(path: hosts.encryptedKey, passphrase: SSHSecret(hosts.passphrase))])
        #expect(try await client.connect(good).run("true").succeeded)
        let bad = hosts.target(
            hosts.hosts[0], auth: [.privateKeyFile(path: hosts.encryptedKey, passphrase: SSHSecret("wrong"))])
        let error = try await #require(throws: SSHError.self) { try await client.connect(bad) }
        #expect(error.kind == .authenticationFailed)
        #expect(error.message.contains("wrong passphrase"))
    }

    @Test func connectsWithTheAgent() async throws {
        let socket = try hosts.startAgent(keys: [hosts.ecdsaKey])
        let connection = try await client.connect(hosts.target(hosts.hosts[1], auth: [.agent(socket: socket)]))
        #expect(connection.info.authMethod.hasPrefix("agent"))
        #expect(try await connection.run("true").succeeded)
    }

    @Test func rsaKeysAreExplained() async throws {
        let target = hosts.target(hosts.hosts[0], auth: [.privateKeyFile(path: hosts.rsaKey, passphrase: nil)])
        let error = try await #require(throws: SSHError.self) { try await client.connect(target) }
        #expect(error.kind == .unsupportedKey)
        #expect(error.message.contains("libssh2 1.10"))
        #expect(error.message.contains("ed25519"))
    }

    @Test func wrongUserIsRefusedClearly() async throws {
        var target = hosts.target(hosts.hosts[0])
        target.user = "golive-no-such-user"
        let error = try await #require(throws: SSHError.self) { try await client.connect(target) }
        #expect(error.kind == .authenticationFailed)
        #expect(error.description.contains("host1 (127.0.0.1:\(hosts.hosts[0].port)): authentication"))
        #expect(error.message.contains("golive-no-such-user"))
    }

    @Test func unknownHostKeyIsRefusedThenAcceptedOnRequest() async throws {
        var target = hosts.target(hosts.hosts[0])
        let empty = hosts.directory + "/empty_known_hosts"
        target.knownHostsFiles = [empty]
        let error = try await #require(throws: SSHError.self) { try await client.connect(target) }
        #expect(error.kind == .hostKeyUnknown)
        #expect(error.message.contains("ED25519 key SHA256:"))
        target.hostKeyPolicy = .acceptNew
        let connection = try await client.connect(target)
        #expect(connection.info.hostKeyAdded)
        let written = try String(contentsOfFile: empty, encoding: .utf8)
        #expect(written.hasPrefix("[127.0.0.1]:\(hosts.hosts[0].port) ssh-ed25519 "))
        target.hostKeyPolicy = .strict
        let again = try await client.connect(target)
        #expect(!again.info.hostKeyAdded)
    }

    @Test func aKeyOfANewTypeForAPinnedHostIsNeverAccepted() async throws {
        // known_hosts pins the host with an ECDSA key; the server offers only ED25519.
        let host = hosts.hosts[0]
        var target = hosts.target(host)
        let pinned = hosts.directory + "/pinned_ecdsa"
        let ecdsa = hosts.directory + "/other_ecdsa"
        _ = try TestHosts.output("/usr/bin/ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", ecdsa])
        let publicKey = try String(contentsOfFile: ecdsa + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(host.port) \(publicKey)\n".write(toFile: pinned, atomically: true, encoding: .utf8)
        target.knownHostsFiles = [pinned]
        target.hostKeyPolicy = .acceptNew
        let error = try await #require(throws: SSHError.self) { try await client.connect(target) }
        #expect(error.kind == .hostKeyMismatch, "\(error)")
        #expect(error.message.contains("pinned with") && error.message.contains("ED25519"), "\(error.message)")
        // Nothing was added.
        #expect(try String(contentsOfFile: pinned, encoding: .utf8).split(separator: "\n").count == 1)
    }

    @Test func changedHostKeyIsRefusedShowingBothFingerprints() async throws {
        let host = hosts.hosts[1]
        let first = try await client.connect(hosts.target(host))
        let old = first.info.hostKey.fingerprint
        await first.close()
        try hosts.rotateHostKey(host)
        let error = try await #require(throws: SSHError.self) { try await client.connect(hosts.target(host)) }
        #expect(error.kind == .hostKeyMismatch)
        #expect(error.message.contains(old))
        let new = try TestHosts.output("/usr/bin/ssh-keygen", ["-l", "-f", host.hostKeyFile + ".pub"])
            .split(separator: " ")[1]
        #expect(error.message.contains(String(new)))
        #expect(error.message.contains("known_hosts:"))
    }

    @Test func hashedKnownHostsEntriesMatch() async throws {
        let host = hosts.hosts[0]
        let hashed = hosts.directory + "/hashed_known_hosts"
        try FileManager.default.copyItem(atPath: hosts.knownHosts, toPath: hashed)
        _ = try TestHosts.output("/usr/bin/ssh-keygen", ["-H", "-f", hashed])
        #expect(try String(contentsOfFile: hashed, encoding: .utf8).hasPrefix("|1|"))
        var target = hosts.target(host)
        target.knownHostsFiles = [hashed]
        #expect(try await client.connect(target).run("true").succeeded)
    }

    @Test func refusedConnectionFailsFast() async throws {
        let port = try TestHosts.freePort()
        let target = SSHTarget(
            name: "nowhere", address: "127.0.0.1", port: port, user: hosts.user, authentication: [],
            knownHostsFiles: [hosts.knownHosts], connectTimeout: .seconds(5))
        let start = ContinuousClock.now
        let error = try await #require(throws: SSHError.self) { try await client.connect(target) }
        #expect(error.kind == .connectFailed)
        #expect(error.message.contains("Connection refused"))
        #expect(start.duration(to: .now) < .seconds(5))
    }

    @Test func silentServerTimesOut() async throws {
        // A socket that listens (the kernel completes the TCP handshake) but never says a word.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        #expect(ok)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let target = SSHTarget(
            name: "silent", address: "127.0.0.1", port: port, user: hosts.user,
            authentication: [.privateKeyFile(path: hosts.ed25519Key, passphrase: nil)],
            knownHostsFiles: [hosts.knownHosts], connectTimeout: .milliseconds(800))
        let start = ContinuousClock.now
        let error = try await #require(throws: SSHError.self) { try await client.connect(target) }
        let elapsed = start.duration(to: .now)
        #expect(error.kind == .connectTimedOut)
        #expect(error.message.contains("handshake"))
        #expect(elapsed >= .milliseconds(700) && elapsed < .seconds(3))
    }

    @Test func findsAnEd25519EntryWhenTheServerAlsoOffersECDSA() async throws {
        var options = TestHosts.Options()
        options.ecdsaHostKey = true
        let both = try TestHosts(count: 1, options: options)
        defer { both.stop() }
        let onlyEd25519 = both.directory + "/known_hosts_ed25519"
        let lines = try String(contentsOfFile: both.knownHosts, encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("ssh-ed25519") }
        #expect(lines.count == 1)
        try (lines.joined(separator: "\n") + "\n").write(toFile: onlyEd25519, atomically: true, encoding: .utf8)
        var target = both.target(both.hosts[0])
        target.knownHostsFiles = [onlyEd25519]
        let connection = try await client.connect(target)
        #expect(connection.info.hostKey.type == "ssh-ed25519")
    }
}
