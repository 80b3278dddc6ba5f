import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Sandbox
import Testing

/// Network faults against hosts in network namespaces of their own: a host cut off in the middle
/// of a step (silently: packets dropped, nothing refused), healed during the rollback; and a slow,
/// lossy link.
@Suite(.serialized, .enabled(if: SandboxNetwork.isAvailable, "network namespaces need root and iproute2"))
struct NetworkFaultTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4, network: .namespaces) }

    /// Four hosts in one batch: a marker (undone by the rollback), then a slow step.
    func markerPlaybook(slow: String) -> String {
        """
        name: partition
        hosts: web
        serial: 4
        max_fail: 0
        deploy:
          - name: marker
            shell: echo changed > {{ app_dir }}/marker
            rollback: rm -f {{ app_dir }}/marker
          - name: slow
            shell: \(slow)
            timeout: 4s
        """
    }

    @Test func aHostCutOffMidStepIsReportedAndRolledBackOnceTheNetworkHeals() async throws {
        let play = try live.write(markerPlaybook(slow: "sleep 2"))
        let live = self.live
        let journal = MemoryJournal()
        let (outcome, _) = try await live.execute(play, journal: journal) { options in
            options.reconnectDeadline = .seconds(60)
        } during: { _ in
            // Cut web2 off while the slow step runs everywhere.
            _ = await eventually { await journal.events.contains { $0.kind == .stepStarted && $0.host == "web2" && $0.step == "deploy[1]" } }
            try? live.sandbox.partition("web2")
            // Heal it once the rollback has begun (web2 cannot be reached for its undo until then).
            _ = await eventually(timeout: .seconds(60)) { await journal.events.contains { $0.kind == .rollbackStarted } }
            _ = await eventually(timeout: .seconds(3)) { await journal.events.contains { $0.kind == .rollbackHostFinished } }
            try? live.sandbox.heal("web2")
        }
        let events = await journal.events
        let web2Step = try #require(events.first { $0.kind == .stepFinished && $0.host == "web2" && $0.step == "deploy[1]" })
        #expect(["timed-out", "unreachable"].contains(web2Step.status ?? ""), "\(web2Step)")
        // The other hosts finished the slow step and were rolled back anyway (max_fail 0).
        for host in ["web1", "web3", "web4"] {
            #expect(events.contains { $0.kind == .stepFinished && $0.host == host && $0.step == "deploy[1]" && $0.status == "ok" })
        }
        // Every host, web2 included once it came back, has its marker undone.
        #expect(outcome.exitCode == 1, "\(outcome.status) \(outcome.attention)")
        for host in live.hosts {
            #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/marker"), "\(host.name) still changed")
            #expect(events.contains { $0.kind == .rollbackHostFinished && $0.host == host.name && $0.status == "ok" }, "\(host.name)")
        }
    }

    @Test func aHostThatStaysCutOffIsReportedForAPerson() async throws {
        let play = try live.write(markerPlaybook(slow: "sleep 2"))
        let live = self.live
        let journal = MemoryJournal()
        defer { try? live.sandbox.heal("web3") }
        let (outcome, _) = try await live.execute(play, journal: journal) { options in
            options.reconnectDeadline = .seconds(3)
        } during: { _ in
            _ = await eventually { await journal.events.contains { $0.kind == .stepStarted && $0.host == "web3" && $0.step == "deploy[1]" } }
            try? live.sandbox.partition("web3")
        }
        #expect(outcome.exitCode == 4)
        #expect(outcome.attention.contains { $0.contains("web3") && $0.contains("marker") }, "\(outcome.attention)")
        // Once the outcome is declared, golive stops: one attempt to release web3's lock, no more
        // reconnecting (that lasted another minute before).
        let events = await journal.events
        let declared = try #require(events.first { $0.kind == .rollbackFinished })
        let finished = try #require(events.last { $0.kind == .runFinished })
        #expect(finished.time.timeIntervalSince(declared.time) < 15, "\(finished.time.timeIntervalSince(declared.time)) s after the outcome")
        #expect(events.contains { $0.kind == .lockReleased && $0.host == "web3" && $0.status == "failed" }, "\(events.filter { $0.kind == .lockReleased || $0.kind == .lockTaken || $0.kind == .runFinished }.map { "\($0.kind) \($0.host ?? "") \($0.status ?? "") \($0.message ?? "")" })")
        for host in ["web1", "web2", "web4"] {
            #expect(!FileManager.default.fileExists(atPath: live.host(host)!.appDirectory + "/marker"), "\(host) still changed")
        }
        // web3 really is still changed: the report says so instead of pretending.
        #expect(FileManager.default.fileExists(atPath: live.host("web3")!.appDirectory + "/marker"))
    }

    @Test func aSlowLossyLinkMakesTheRunSlowerButItSucceeds() async throws {
        // Every host behind a relay adding 100 ms each way (200 ms round trips) and 5% emulated loss.
        var relays: [LatencyRelay] = []
        var text = try String(contentsOfFile: live.inventoryPath, encoding: .utf8)
        for host in live.hosts {
            let relay = try LatencyRelay(to: host.address, port: host.sshPort, delay: .milliseconds(100), loss: 0.05, seed: relays.count + 1)
            relays.append(relay)
            text = text.replacingOccurrences(
                of: "\(host.name): { address: \(host.address), port: 22,", with: "\(host.name): { address: 127.0.0.1, port: \(relay.port),")
        }
        defer { relays.forEach { $0.stop() } }
        // The relays' keys are the hosts' keys, now seen at 127.0.0.1:PORT.
        let knownHosts = live.sandbox.knownHosts
        var keys = try String(contentsOfFile: knownHosts, encoding: .utf8)
        for (host, relay) in zip(live.hosts, relays) {
            let line = try #require(keys.split(separator: "\n").first { $0.hasPrefix(host.address + " ") })
            keys += "[127.0.0.1]:\(relay.port) " + line.split(separator: " ", maxSplits: 1)[1] + "\n"
        }
        try keys.write(toFile: knownHosts, atomically: true, encoding: .utf8)
        try text.write(toFile: live.inventoryPath, atomically: true, encoding: .utf8)

        let play = try live.write(releasePlaybook(serial: "2").replacingOccurrences(of: "http: { url: \"http://{{ host.address }}", with: "http: { via: host, url: \"http://127.0.0.1"))
        let started = ContinuousClock.now
        let (outcome, events) = try await live.execute(play)
        let took = ContinuousClock.now - started
        #expect(outcome.exitCode == 0, "\(outcome.status) \(outcome.attention) \(events.filter { $0.status == "failed" })")
        #expect(live.hosts.allSatisfy { live.current($0.name) == "2.0.0" })
        // Each step needs at least one round trip: 7 steps per host in two batches cannot take under 2 x 7 x 200 ms.
        #expect(took > .milliseconds(2 * 7 * 200), "\(took)")
    }
}
