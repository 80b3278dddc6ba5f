import Foundation
import GoliveTestSupport
import Testing

/// `golive ping`: a row per host with key, auth and round trip; exit 3 naming the host that fails.
@Suite(.serialized) struct PingCommandTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 3) }

    @Test func everyHostAnswersWithItsKeyAuthAndRoundTrip() throws {
        let (status, output) = try golive.run(["ping", "-i", live.inventoryPath])
        #expect(status == 0, "\(output)")
        for host in live.hosts {
            let row = try #require(output.split(separator: "\n").first { $0.contains(" \(host.name) ") })
            #expect(row.hasPrefix("ok"))
            #expect(row.contains("127.0.0.1:\(host.sshPort)"))
            #expect(row.contains("ED25519 SHA256:"))
            #expect(row.contains("publickey"))
            #expect(row.hasSuffix(" ms"))
        }
        #expect(output.contains("3/3 host(s) reachable"))
    }

    @Test func anUnknownHostKeyFailsThatRowAndExitsThree() throws {
        let knownHosts = live.directory + "/sandbox/known_hosts"
        let kept = try String(contentsOfFile: knownHosts, encoding: .utf8)
        defer { try? kept.write(toFile: knownHosts, atomically: true, encoding: .utf8) }
        let port = try #require(live.host("web2")).sshPort
        try kept.split(separator: "\n").filter { !$0.contains(":\(port) ") }.joined(separator: "\n")
            .appending("\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let (status, output) = try golive.run(["ping", "-i", live.inventoryPath, "--json"])
        #expect(status == 3)
        let rows = try output.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let web2 = try #require(rows.first { $0["host"] as? String == "web2" })
        #expect(web2["ok"] as? Bool == false)
        #expect((web2["error"] as? String)?.contains("host key unknown") == true)
        #expect(rows.filter { $0["ok"] as? Bool == true }.count == 2)
        // Asked for, the new key is appended and said so.
        let (accepted, acceptedOutput) = try golive.run(["ping", "-i", live.inventoryPath, "--accept-new-host-keys"])
        #expect(accepted == 0)
        #expect(acceptedOutput.contains("host key added to known_hosts"))
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).contains(":\(port) ssh-ed25519"))
    }

    @Test func limitSelectsHostsAndABadPatternIsInvalidInput() throws {
        let (status, output) = try golive.run(["ping", "-i", live.inventoryPath, "--limit", "web:!web2"])
        #expect(status == 0)
        #expect(output.contains("2/2 host(s) reachable") && !output.contains(" web2 "))
        #expect(try golive.run(["ping", "-i", live.inventoryPath, "--limit", "nope"]).status == 2)
        // Bad arguments are invalid input too: exit 2, with usage.
        let missing = try golive.run(["run", golive.root + "/playbooks/webapp.yml"])
        #expect(missing.status == 2 && missing.output.contains("needs an inventory"))
        #expect(try golive.run(["run", "--forks", "0", "x.yml", "-i", live.inventoryPath]).status == 2)
    }
}
