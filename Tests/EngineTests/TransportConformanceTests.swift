import Engine
import Foundation
import GoliveTestSupport
import Playbook
import SSHTransport
import System
import Testing

/// The engine's transport seam, the same behaviour from both SSH implementations, against real
/// sshd: connect, host keys unknown and changed, authentication refused, streams and exit codes,
/// a killing signal, 10 MB of output, timeout and cancellation stopping the remote process group,
/// uploads of 0 B, 1 MB and 50 MB, a jump host, the connection lost mid-command.
@Suite(.serialized) struct TransportConformanceTests {
    static let transports: [TransportChoice] = [.libssh2, .openssh]

    /// One host (or more) and an inventory for them, written with `extra` lines for each host.
    private struct Fleet {
        let hosts: TestHosts
        let inventory: Inventory
        let transport: SSHTransport

        init(
            _ choice: TransportChoice, count: Int = 1, knownHosts: String? = nil, user: String? = nil, acceptNew: Bool = false,
            jump: Bool = false
        ) throws {
            hosts = try TestHosts(count: count)
            let path = hosts.directory + "/inventory.yml"
            var text = """
                environment: t
                defaults: { user: \(user ?? hosts.user), identity: \(hosts.ed25519Key), known_hosts: \(knownHosts ?? hosts.knownHosts), transport: \(choice.rawValue) }
                hosts:

                """
            for (index, host) in hosts.hosts.enumerated() {
                let via = jump && index > 0 ? ", jump: \(hosts.hosts[0].name)" : ""
                text += "  \(host.name): { address: 127.0.0.1, port: \(host.port)\(via) }\n"
            }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            inventory = try Inventory.load(file: path).0
            var options = SSHTransport.Options()
            options.sshConfigPath = hosts.directory + "/no-ssh-config"
            options.acceptNewHostKeys = acceptNew
            options.connectTimeout = .seconds(5)
            transport = SSHTransport(inventory: inventory, options: options)
        }

        func connect(_ index: Int = 0) async throws -> any HostConnection {
            try await transport.connect(to: try #require(inventory.host(named: hosts.hosts[index].name)))
        }

        func stop() {
            transport.shutdown()
            hosts.stop()
        }
    }

    @Test(arguments: transports) func connectsAndSaysHow(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice)
        defer { fleet.stop() }
        let connection = try await fleet.connect()
        defer { Task { await connection.close() } }
        let fingerprint = try TestHosts.output("/usr/bin/ssh-keygen", ["-l", "-f", fleet.hosts.hosts[0].hostKeyFile + ".pub"])
            .split(separator: " ")[1]
        #expect(connection.summary.hostKey == "ED25519 \(fingerprint)")
        #expect(connection.summary.authMethod.contains("publickey") && connection.summary.authMethod.contains(fleet.hosts.ed25519Key))
        #expect(connection.summary.endpoint == "127.0.0.1:\(fleet.hosts.hosts[0].port)")
        #expect(connection.summary.transport == choice.rawValue)
        #expect(try await connection.run("echo ok", timeout: .seconds(30), output: nil).stdoutText == "ok\n")
        await connection.close()
    }

    @Test(arguments: transports) func anUnknownHostKeyIsRefusedThenAcceptedOnRequestAndAChangedOneNever(_ choice: TransportChoice) async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("kh-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: empty, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let strict = try Fleet(choice, knownHosts: empty)
        defer { strict.stop() }
        let refused = await #expect(throws: TransportError.self) { try await strict.connect() }
        #expect(refused?.kind == .hostKey)
        #expect(try String(contentsOfFile: empty, encoding: .utf8).isEmpty, "nothing may be added without the flag")
        // The same host, accepted on request, then its key changed: refused, however asked.
        var options = SSHTransport.Options()
        options.sshConfigPath = strict.hosts.directory + "/no-ssh-config"
        options.acceptNewHostKeys = true
        let accepting = SSHTransport(inventory: strict.inventory, options: options)
        defer { accepting.shutdown() }
        let host = try #require(strict.inventory.host(named: strict.hosts.hosts[0].name))
        let first = try await accepting.connect(to: host)
        #expect(first.summary.hostKeyAdded)
        await first.close()
        #expect(try String(contentsOfFile: empty, encoding: .utf8).split(separator: "\n").count == 1)
        try strict.hosts.rotateHostKey(strict.hosts.hosts[0])
        let changed = await #expect(throws: TransportError.self) { try await accepting.connect(to: host) }
        #expect(changed?.kind == .hostKey)
        #expect(try String(contentsOfFile: empty, encoding: .utf8).split(separator: "\n").count == 1, "a changed key is never written")
    }

    @Test(arguments: transports) func aUserTheServerRefusesIsAnAuthenticationFailure(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice, user: "golive-no-such-user")
        defer { fleet.stop() }
        let error = await #expect(throws: TransportError.self) { try await fleet.connect() }
        #expect(error?.kind == .authentication)
    }

    @Test(arguments: transports) func keepsTheStreamsApartWithExitCodesAndASignal(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice)
        defer { fleet.stop() }
        let connection = try await fleet.connect()
        let result = try await connection.run("echo out; echo err >&2; exit 3", timeout: .seconds(30), output: nil)
        #expect(result.stdoutText == "out\n" && result.stderrText == "err\n" && result.exitCode == 3)
        #expect(try await connection.run("exit 255", timeout: .seconds(30), output: nil).exitCode == 255)
        let killed = try await connection.run("kill -KILL $$", timeout: .seconds(30), output: nil)
        #expect(!killed.succeeded)
        // libssh2 reads the signal; OpenSSH's master says a signal death as no exit status, not which signal.
        #expect(killed.exitCode == nil && !killed.timedOut, "\(killed)")
        #expect(choice == .libssh2 ? killed.signal == "KILL" : killed.signal == "", "\(killed)")
        await connection.close()
    }

    @Test(arguments: transports) func tenMegabytesStreamWithABoundedCapture(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice)
        defer { fleet.stop() }
        let connection = try await fleet.connect()
        let counter = ByteCounter()
        let result = try await connection.run("head -c 10000000 /dev/zero | tr '\\\\0' a; echo done >&2", timeout: .seconds(60)) { stdout, chunk in
            if stdout { counter.add(chunk.count) }
        }
        #expect(result.succeeded && counter.total == 10_000_000)
        #expect(result.omitted == 10_000_000 - 128 * 1024)
        #expect(result.stderrText == "done\n")
        await connection.close()
    }

    @Test(arguments: transports) func aTimeoutStopsTheRemoteProcessGroupAndKeepsTheConnection(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice)
        defer { fleet.stop() }
        let connection = try await fleet.connect()
        let seconds = Int.random(in: 40_000...49_999)
        let start = ContinuousClock.now
        // A child of the shell, in its group: it must go too.
        let result = try await connection.run("echo started; (sleep \(seconds); true) & sleep \(seconds)", timeout: .milliseconds(500), output: nil)
        #expect(result.timedOut && result.stdoutText == "started\n")
        #expect(start.duration(to: .now) < .seconds(5))
        let pattern = "sleep [\(String(seconds).prefix(1))]\(String(seconds).dropFirst())"
        #expect(try await connection.run("pgrep -f '\(pattern)' || echo gone", timeout: .seconds(30), output: nil).stdoutText == "gone\n")
        await connection.close()
    }

    @Test(arguments: transports) func cancellingTheTaskStopsTheRemoteProcessGroup(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice)
        defer { fleet.stop() }
        let connection = try await fleet.connect()
        let started = TestSignal()
        let task = Task { try await connection.run("echo go; sleep 4322", timeout: nil) { _, _ in started.fire() } }
        await started.wait()
        task.cancel()
        let error = await #expect(throws: TransportError.self) { try await task.value }
        #expect(error?.kind == .cancelled)
        #expect(try await connection.run("pgrep -f 'sleep [4]322' || echo gone", timeout: .seconds(30), output: nil).stdoutText == "gone\n")
        await connection.close()
    }

    @Test(arguments: transports) func uploadsAreAtomicWithTheirBytesAndMode(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice)
        defer { fleet.stop() }
        let connection = try await fleet.connect()
        var block = Data(count: 1 << 20)
        block.withUnsafeMutableBytes { raw in
            for index in 0..<raw.count { raw[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
        }
        for size in [0, 1_000_000, 50_000_000] {
            var data = Data(capacity: size)
            while data.count < size { data.append(block.prefix(size - data.count)) }
            let path = fleet.hosts.directory + "/upload-\(size).bin"
            try await connection.upload(data, to: path, mode: 0o640)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == data)
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o640)
            let staged = try await connection.stage(data, beside: path + ".next")
            #expect(staged.hasPrefix(fleet.hosts.directory + "/.upload-\(size).bin.next.golive-"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: staged)) == data)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fleet.hosts.directory).filter {
            $0.contains(".golive-") && !$0.contains(".next.")
        }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
        let refused = await #expect(throws: TransportError.self) {
            try await connection.upload(Data("x".utf8), to: "/proc/golive-cannot-write-here", mode: 0o644)
        }
        #expect(refused?.kind == .transfer)
        await connection.close()
    }

    @Test(arguments: transports) func anInventoryJumpHostReachesTheHostBehindIt(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice, count: 2, jump: true)
        defer { fleet.stop() }
        let connection = try await fleet.connect(1)
        #expect(connection.summary.endpoint.contains("via"))
        let seen = try await connection.run("echo $SSH_CONNECTION", timeout: .seconds(30), output: nil).stdoutText
        #expect(seen.contains(" \(fleet.hosts.hosts[1].port)"))
        await connection.close()
    }

    @Test(arguments: transports) func aServerKilledMidCommandIsAConnectionLost(_ choice: TransportChoice) async throws {
        let fleet = try Fleet(choice)
        defer { fleet.stop() }
        let connection = try await fleet.connect()
        let started = TestSignal()
        let task = Task { try await connection.run("echo go; sleep 60", timeout: nil) { _, _ in started.fire() } }
        await started.wait()
        fleet.hosts.kill(fleet.hosts.hosts[0])
        let error = await #expect(throws: TransportError.self) { try await task.value }
        #expect(error?.kind == .connectionLost)
        let again = await #expect(throws: TransportError.self) { try await connection.run("true", timeout: .seconds(10), output: nil) }
        #expect(again?.kind == .connectionLost)
    }
}
