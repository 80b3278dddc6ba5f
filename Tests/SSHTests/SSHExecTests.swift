import Foundation
import GoliveTestSupport
import SSH
import Testing

/// Commands over exec channels against real sshd: streams, exit codes, signals, volume, timeouts.
@Suite struct SSHExecTests {
    let hosts: TestHosts
    let client = SSHClient()

    init() throws { hosts = try TestHosts(count: 1) }

    private func connect() async throws -> SSHConnection {
        try await client.connect(hosts.target(hosts.hosts[0]))
    }

    @Test func keepsStdoutAndStderrApartAndReportsExitCodes() async throws {
        let connection = try await connect()
        let result = try await connection.run("echo out; echo err >&2; exit 3")
        #expect(result.stdoutText == "out\n")
        #expect(result.stderrText == "err\n")
        #expect(result.termination == .exited(3))
        #expect(try await connection.run("exit 0").termination == .exited(0))
        #expect(try await connection.run("exit 255").termination == .exited(255))
    }

    @Test func reportsAKillingTestSignal() async throws {
        let result = try await connect().run("kill -TERM $$")
        #expect(result.termination == .signaled("TERM"))
        #expect(!result.succeeded)
    }

    @Test func isBinarySafeAndFeedsStdin() async throws {
        let bytes = Data((0..<4096).map { UInt8($0 % 256) })
        let result = try await connect().run("cat", stdin: bytes)
        #expect(result.stdout == bytes)
    }

    @Test func streamsTenMegabytesWithBoundedCapture() async throws {
        let counter = ByteCounter()
        let result = try await connect().run(
            "head -c 10000000 /dev/zero | tr '\\\\0' a; echo done >&2", captureLimit: 1 << 20
        ) { stream, chunk in
            if stream == .stdout { counter.add(chunk.count) }
        }
        #expect(result.succeeded)
        #expect(counter.total == 10_000_000)
        // The kept 1 MiB, and where bytes were dropped a line saying how many.
        let marker = Data("\n… [\(10_000_000 - (1 << 20)) bytes cut] …\n".utf8)
        #expect(result.stdout.count == (1 << 20) + marker.count)
        #expect(result.stdout.range(of: marker) != nil)
        #expect(result.stdoutOmitted == 10_000_000 - (1 << 20))
        #expect(result.stderrText == "done\n")
    }

    @Test func timeoutStopsTheCommandAndKeepsTheConnection() async throws {
        let connection = try await connect()
        let seconds = Int.random(in: 40_000...49_999)
        let marker = "sleep \(seconds)"
        let start = ContinuousClock.now
        let result = try await connection.run("echo started; \(marker)", timeout: .milliseconds(500))
        #expect(result.termination == .timedOut)
        #expect(result.stdoutText == "started\n")
        #expect(start.duration(to: .now) < .seconds(5))
        // The bracket keeps pgrep's own shell, whose command line holds the pattern, from matching.
        let check = try await connection.run("pgrep -f 'sleep [\(String(seconds).prefix(1))]\(String(seconds).dropFirst())' || echo gone")
        #expect(check.stdoutText == "gone\n")
    }

    @Test func cancellationStopsTheCommand() async throws {
        let connection = try await connect()
        let started = TestSignal()
        let task = Task {
            try await connection.run("echo go; sleep 4322") { _, _ in started.fire() }
        }
        await started.wait()
        task.cancel()
        let error = await #expect(throws: SSHError.self) { try await task.value }
        #expect(error?.kind == .cancelled)
        #expect(try await connection.run("pgrep -f 'sleep [4]322' || echo gone").stdoutText == "gone\n")
    }

    @Test func aKilledServerIsReportedAsConnectionLost() async throws {
        let extra = try TestHosts(count: 1)
        defer { extra.stop() }
        let connection = try await client.connect(extra.target(extra.hosts[0]))
        let started = TestSignal()
        let task = Task { try await connection.run("echo go; sleep 60") { _, _ in started.fire() } }
        await started.wait()
        extra.kill(extra.hosts[0])
        let error = await #expect(throws: SSHError.self) { try await task.value }
        #expect(error?.kind == .connectionLost || error?.kind == .channelFailed)
        let again = await #expect(throws: SSHError.self) { try await connection.run("true") }
        #expect(again?.kind == .connectionLost || again?.kind == .channelFailed)
    }

    @Test func reusesOneConnectionForManyCommands() async throws {
        let connection = try await connect()
        let first = try await connection.run("echo $PPID").stdoutText
        for _ in 0..<20 { #expect(try await connection.run("true").succeeded) }
        // Every command of one connection is a child of the same sshd session process.
        #expect(try await connection.run("echo $PPID").stdoutText != "" && first != "")
        let sessions = try await connection.run("pgrep -c -f 'sshd: \(hosts.user)@notty' || true").stdoutText
        #expect(Int(sessions.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 1)
    }
}
