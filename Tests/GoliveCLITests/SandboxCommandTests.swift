import Foundation
import GoliveTestSupport
import Sandbox
import System
import Testing

/// `golive sandbox`: with network namespaces (root), each host has an address of its own, can be cut
/// off and reconnected, and `down` removes exactly what `up` made.
@Suite(.serialized, .enabled(if: SandboxNetwork.isAvailable, "network namespaces need root and iproute2"))
struct SandboxCommandTests {
    let golive = GoliveBinary()

    @Test func namespacesGiveEachHostItsOwnAddressAndCanBeCutOff() throws {
        let directory = try TestHosts.makeTemporaryDirectory(name: "sandbox")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // As root the hosts' login user is not root: it reaches the sandbox's keys through here.
        chmod(directory, 0o755)
        let inventory = directory + "/inventory.yml"
        let location = ["--directory", directory + "/sandbox"]
        let up = try golive.run(["sandbox", "up", "--hosts", "3", "--network", "namespaces", "--inventory", inventory] + location)
        defer { _ = try? golive.run(["sandbox", "down"] + location) }
        #expect(up.status == 0, "\(up.output)")
        let hosts = Sandbox(directory: directory + "/sandbox").hosts()
        // Three web hosts, and the tiers: a database server and a load balancer (sshd only).
        #expect(hosts.map(\.name) == ["web1", "web2", "web3", "db1", "lb1"])
        #expect(Set(hosts.map(\.address)).count == 5 && hosts.allSatisfy { $0.address.hasPrefix("10.") && $0.sshPort == 22 })
        #expect(hosts.filter { $0.httpPort > 0 }.map(\.name) == ["web1", "web2", "web3"])
        let namespaces = try HostTools.output("/usr/sbin/ip", ["netns", "list"])
        for host in hosts { #expect(namespaces.contains(try #require(host.network).namespace)) }
        // A short connect timeout, so the cut-off host fails fast.
        let text = try String(contentsOfFile: inventory, encoding: .utf8).replacingOccurrences(
            of: "connect_timeout: 10s", with: "connect_timeout: 2s")
        try text.write(toFile: inventory, atomically: true, encoding: .utf8)

        let ping = try golive.run(["ping", "-i", inventory])
        #expect(ping.status == 0, "\(ping.output)")
        for host in hosts { #expect(ping.output.contains("\(host.address):22")) }
        // Each host's HTTP service answers on its own address, port 80.
        let health = try HostTools.output("/usr/bin/curl", ["-fsS", "http://\(hosts[0].address)/health"])
        #expect(health == "ok 1.0.0\n")

        #expect(try golive.run(["sandbox", "partition", "web2"] + location).status == 0)
        let cut = try golive.run(["ping", "-i", inventory, "--json"])
        #expect(cut.status == 3)
        #expect(cut.output.contains("\"host\":\"web2\"") && cut.output.contains("did not complete within 2s"), "\(cut.output)")
        #expect(try golive.run(["sandbox", "heal", "web2"] + location).status == 0)
        #expect(try golive.run(["ping", "-i", inventory]).status == 0)

        let pids = hosts.flatMap { [$0.sshdPID, $0.httpPID] }.filter { $0 > 0 }
        #expect(try golive.run(["sandbox", "down"] + location).status == 0)
        for pid in pids { #expect(kill(pid, 0) != 0 || ChildProcess.isZombie(pid), "pid \(pid) still runs") }
        let left = try HostTools.output("/usr/sbin/ip", ["netns", "list"])
        for host in hosts { #expect(!left.contains(try #require(host.network).namespace)) }
    }
}
