import Foundation
import GoliveTestSupport
import SSH
import Testing

/// Uploads and downloads over SFTP, checked on the host with sha256sum.
@Suite struct SFTPTests {
    let hosts: TestHosts
    let client = SSHClient()

    init() throws { hosts = try TestHosts(count: 1) }

    private func sha256(_ path: String) throws -> String {
        String(try TestHosts.output("/usr/bin/sha256sum", [path]).prefix(64))
    }

    @Test(arguments: [0, 1_000_000, 50_000_000])
    func uploadsAtomicallyWithTheRightBytesAndMode(size: Int) async throws {
        let connection = try await client.connect(hosts.target(hosts.hosts[0]))
        let local = hosts.directory + "/upload-\(size).bin"
        _ = try TestHosts.output("/bin/sh", ["-c", "head -c \(size) /dev/urandom > \(local)"])
        let remote = hosts.hosts[0].root + "/dest-\(size).bin"
        let written = try await connection.upload(.file(local), to: remote, mode: 0o640)
        #expect(written == size)
        let check = try await connection.run("sha256sum \(remote) | cut -c1-64; stat -c %a \(remote)")
        #expect(check.stdoutText == "\(try sha256(local))\n640\n")
        let leftovers = try await connection.run("ls -a \(hosts.hosts[0].root) | grep -c golive- || true")
        #expect(leftovers.stdoutText == "0\n")
    }

    @Test func downloadsAndReportsMissingFiles() async throws {
        let connection = try await client.connect(hosts.target(hosts.hosts[0]))
        let remote = hosts.hosts[0].root + "/data.txt"
        try await connection.upload(.data(Data("hello sftp\n".utf8)), to: remote)
        let local = hosts.directory + "/downloaded.txt"
        let count = try await connection.download(remote, to: local)
        #expect(count == 11)
        #expect(try String(contentsOfFile: local, encoding: .utf8) == "hello sftp\n")
        let error = await #expect(throws: SSHError.self) {
            try await connection.download(hosts.hosts[0].root + "/missing", to: local)
        }
        #expect(error?.kind == .sftpFailed)
        #expect(error?.message.contains("no such file") == true)
    }
}
