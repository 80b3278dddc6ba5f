import Foundation
import GoliveTestSupport
import Testing

/// The controller is SIGKILLed right after its Nth durable event, at points spread over a run and
/// at random points; each time the journal alone brings every host back (or the run to its end).
@Suite(.serialized) struct KillPointTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    private func all(_ release: String) -> Bool { ["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) == release } }

    /// Kills a run after its `point`th event, recovers it (forward or by rollback), and checks
    /// that no host is left half-changed, the timeline has no gap and no unmatched step, and the
    /// store is sound. Leaves every host on 1.0.0.
    private func killAndRecover(point: Int, forward: Bool, label: String) throws {
        let playbook = golive.root + "/playbooks/webapp.yml"
        let store = live.directory + "/kill-\(label).sqlite"
        let killed = try golive.run(
            ["run", playbook, "-i", live.inventoryPath, "--store", store, "--json"],
            environment: ["GOLIVE_FAULT_KILL_AFTER_EVENTS": String(point)])
        if killed.status == 0 {
            // The run ended before the kill point: nothing to recover; undo it for the next round.
            #expect(try golive.run(["rollback", try #require(GoliveBinary.runID(in: killed.output)), "--store", store]).status == 0)
            return
        }
        #expect(killed.status == 137, "\(label): \(killed.output.suffix(500))")
        let id = try #require(GoliveBinary.runID(in: killed.output), "\(label)")
        let recovered = try golive.run(forward ? ["resume", id, "--store", store, "--yes"] : ["resume", id, "--rollback", "--store", store])
        #expect(recovered.status == 0, "\(label): \(recovered.output.suffix(1500))")
        #expect(all(forward ? "2.0.0" : "1.0.0"), "\(label): \(live.hosts.map { live.current($0.name) ?? "?" })")
        if !forward {
            for host in live.hosts {
                #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/releases/2.0.0"), "\(label) \(host.name)")
            }
        }
        // The timeline is complete: every started step has an end or a controller-lost mark.
        let events = try golive.timelineEvents(id, store: store)
        let sequence = events.compactMap { $0["sequence"] as? Int }
        #expect(sequence == Array(1...sequence.count), "\(label): gaps in the sequence")
        var open: [String: Int] = [:]
        for event in events {
            let key = "\(event["host"] ?? "")|\(event["step"] ?? "")"
            switch event["kind"] as? String {
            case "stepStarted": open[key, default: 0] += 1
            case "stepFinished", "controllerLost": open[key, default: 0] -= 1
            default: break
            }
        }
        #expect(open.values.allSatisfy { $0 == 0 }, "\(label): unmatched steps \(open.filter { $0.value != 0 })")
        let integrity = try HostTools.output("/usr/bin/sqlite3", [store, "PRAGMA integrity_check"])
        #expect(integrity.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
        if forward {
            let back = try golive.run(["rollback", id, "--store", store])
            #expect(back.status == 0, "\(label): \(back.output.suffix(800))")
            #expect(all("1.0.0"))
        }
    }

    @Test func everyKillPointIsRecoverable() throws {
        let points = [2, 4, 6, 9, 12, 15, 18, 22, 26, 30, 34, 38, 42, 47, 52, 57, 62, 68, 74, 80]
        let resumeForward: Set<Int> = [15, 42, 68]
        for point in points {
            try killAndRecover(point: point, forward: resumeForward.contains(point), label: "point-\(point)")
        }
    }
}

/// A small seeded generator, so a failing random loop can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
