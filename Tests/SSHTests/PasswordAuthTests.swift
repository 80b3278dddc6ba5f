import Foundation
import GoliveTestSupport
import SSH
import Testing

/// Password login needs an sshd with a private /etc/shadow, which test support sets up with `unshare`
/// (root only).
@Suite struct PasswordAuthTests {
    @Test(.enabled(if: geteuid() == 0, "password login needs root to give sshd a private /etc/shadow"))
    func connectsWithAPasswordAndRefusesAWrongOne() async throws {
        var options = TestHosts.Options()
        options.password = "s3cret-pw"
        let hosts = try TestHosts(count: 1, options: options)
        defer { hosts.stop() }
        let client = SSHClient()
        let good = hosts.target(hosts.hosts[0], auth: [.password(SSHSecret("s3cret-pw"))])
        let connection = try await client.connect(good)
        #expect(connection.info.authMethod == "password")
        #expect(try await connection.run("true").succeeded)
        let bad = hosts.target(hosts.hosts[0], auth: [.password(SSHSecret("nope"))])
        let error = try await #require(throws: SSHError.self) { try await client.connect(bad) }
        #expect(error.kind == .authenticationFailed)
        #expect(!error.description.contains("nope"))
    }
}
