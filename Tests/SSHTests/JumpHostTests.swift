import Foundation
import GoliveTestSupport
import SSH
import Testing

/// ProxyJump: a session tunnelled through another sshd's direct-tcpip channel.
@Suite struct JumpHostTests {
    @Test func reachesAHostThroughAJumpHost() async throws {
        let hosts = try TestHosts(count: 3)
        defer { hosts.stop() }
        let client = SSHClient()
        let bastion = hosts.target(hosts.hosts[0])
        var targets: [SSHTarget] = []
        for host in hosts.hosts.dropFirst() {
            var target = hosts.target(host)
            target.jumps = [bastion]
            targets.append(target)
        }
        for target in targets {
            let connection = try await client.connect(target)
            #expect(connection.info.connectedAddress == "via host1")
            let result = try await connection.run("echo through; head -c 2000000 /dev/zero | wc -c")
            #expect(result.stdoutText == "through\n2000000\n")
            let upload = hosts.directory + "/jump.bin"
            _ = try TestHosts.output("/bin/sh", ["-c", "head -c 3000000 /dev/urandom > \(upload)"])
            let remote = hosts.directory + "/hosts/\(target.name)/jump.bin"
            try await connection.upload(.file(upload), to: remote)
            let sum = try await connection.run("sha256sum \(remote) | cut -c1-64").stdoutText
            let local = String(try TestHosts.output("/usr/bin/sha256sum", [upload]).prefix(64))
            #expect(sum == local + "\n")
        }
    }

    @Test func explainsAnUnreachableTargetBehindTheJumpHost() async throws {
        let hosts = try TestHosts(count: 1)
        defer { hosts.stop() }
        var target = hosts.target(hosts.hosts[0])
        target.name = "ghost"
        target.port = try TestHosts.freePort()
        target.jumps = [hosts.target(hosts.hosts[0])]
        let error = try await #require(throws: SSHError.self) { try await SSHClient().connect(target) }
        #expect(error.kind == .connectFailed)
        #expect(error.message.contains("jump host host1"))
    }
}
