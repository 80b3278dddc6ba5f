import Engine
import Foundation
import GoliveTestSupport
import Playbook
import SSHTransport
import Testing

/// Inventory hosts become SSH targets: `~/.ssh/config` fills what the inventory leaves out.
struct SSHTransportTests {
    @Test func sshConfigSuppliesHostNamePortUserAndIdentity() async throws {
        let hosts = try TestHosts(count: 1)
        defer { hosts.stop() }
        let host = hosts.hosts[0]
        let config = hosts.directory + "/ssh_config"
        try """
            Host app-*
              User \(hosts.user)
              IdentityFile \(hosts.ecdsaKey)
            Host app-one
              HostName \(host.address)
              Port \(host.port)
              UserKnownHostsFile \(hosts.knownHosts)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let inventoryPath = hosts.directory + "/inventory.yml"
        try "environment: t\nhosts:\n  app-one:\n".write(toFile: inventoryPath, atomically: true, encoding: .utf8)
        let (inventory, _) = try Inventory.load(file: inventoryPath)
        var options = SSHTransport.Options()
        options.sshConfigPath = config
        let transport = SSHTransport(inventory: inventory, options: options)
        defer { transport.shutdown() }
        let target = try transport.target(for: try #require(inventory.host(named: "app-one")))
        #expect(target.address == host.address && target.port == host.port && target.user == hosts.user)
        #expect(target.knownHostsFiles == [hosts.knownHosts])
        let connection = try await transport.connect(to: try #require(inventory.host(named: "app-one")))
        #expect(connection.summary.authMethod.contains(hosts.ecdsaKey))
        #expect(try await connection.run("echo ok", timeout: .seconds(60), output: nil).stdoutText == "ok\n")
    }

    @Test func inventoryJumpHostsReachHostsBehindThem() async throws {
        let hosts = try TestHosts(count: 2)
        defer { hosts.stop() }
        let (bastion, inner) = (hosts.hosts[0], hosts.hosts[1])
        let inventoryPath = hosts.directory + "/inventory.yml"
        try """
            environment: t
            defaults: { user: \(hosts.user), identity: \(hosts.ed25519Key), known_hosts: \(hosts.knownHosts) }
            hosts:
              bastion: { address: 127.0.0.1, port: \(bastion.port) }
              inner: { address: 127.0.0.1, port: \(inner.port), jump: bastion }
            """.write(toFile: inventoryPath, atomically: true, encoding: .utf8)
        let (inventory, _) = try Inventory.load(file: inventoryPath)
        let transport = SSHTransport(inventory: inventory)
        defer { transport.shutdown() }
        let connection = try await transport.connect(to: try #require(inventory.host(named: "inner")))
        #expect(connection.summary.endpoint.contains("via bastion"))
        #expect(try await connection.run("echo $SSH_CONNECTION", timeout: .seconds(60), output: nil).stdoutText.contains(" \(inner.port)"))
    }
}
