import Foundation
import GoliveTestSupport
import SSH
import Testing

/// Addresses and scale: IPv6, host names, and hundreds of concurrent sessions on a few threads.
@Suite struct SSHScaleTests {
    @Test func connectsOverIPv6AndByHostName() async throws {
        var options = TestHosts.Options()
        options.ipv6 = true
        let hosts = try TestHosts(count: 1, options: options)
        defer { hosts.stop() }
        let client = SSHClient()
        var target = hosts.target(hosts.hosts[0])
        target.address = "::1"
        let connection = try await client.connect(target)
        #expect(connection.target.endpoint == "[::1]:\(hosts.hosts[0].port)")
        #expect(try await connection.run("echo $SSH_CONNECTION").stdoutText.hasPrefix("::1 "))
        // A name that resolves to the loopback; its known_hosts entry is under the name.
        var named = hosts.target(hosts.hosts[0])
        named.address = "localhost"
        let lines = try String(contentsOfFile: hosts.knownHosts, encoding: .utf8)
            .replacingOccurrences(of: "[127.0.0.1]:", with: "[localhost]:")
        try lines.write(toFile: hosts.directory + "/known_named", atomically: true, encoding: .utf8)
        named.knownHostsFiles = [hosts.directory + "/known_named"]
        #expect(try await client.connect(named).run("true").succeeded)
    }

    /// 200 concurrent sessions (10 sshd, 20 sessions each) from one client: every one works, and the
    /// process gains at most a handful of threads (the event loops), not one per host.
    @Test func twoHundredConcurrentSessionsOnBoundedThreads() async throws {
        let hosts = try TestHosts(count: 10)
        defer { hosts.stop() }
        let before = Self.threadCount()
        let client = SSHClient(threads: 2)
        let peak = ThreadPeak()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                let target = hosts.target(hosts.hosts[index % 10], connectTimeout: .seconds(60))
                group.addTask {
                    let connection = try await client.connect(target)
                    let result = try await connection.run("sleep 1; echo \(index)")
                    peak.record(Self.threadCount())
                    return result.stdoutText == "\(index)\n"
                }
            }
            var all: [Bool] = []
            for try await ok in group { all.append(ok) }
            return all
        }
        client.shutdown()
        #expect(results.count == 200 && results.allSatisfy { $0 })
        #expect(peak.value - before <= 16, "threads went from \(before) to \(peak.value)")
    }

    static func threadCount() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        return Int(line.split(separator: "\t").last ?? "") ?? 0
    }
}

/// The highest value recorded, from any thread.
final class ThreadPeak: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value = 0
    func record(_ count: Int) {
        lock.lock()
        value = max(value, count)
        lock.unlock()
    }
}
