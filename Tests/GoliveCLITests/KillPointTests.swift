import Foundation
import GoliveTestSupport
import Testing

/// The controller is SIGKILLed right after its Nth durable event, at 20 points spread over a run;
/// each time the journal alone brings every host back (or the run to its end).
@Suite(.serialized) struct KillPointTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    private func all(_ release: String) -> Bool { ["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) == release } }

    @Test func everyKillPointIsRecoverable() throws {
        let playbook = golive.root + "/playbooks/webapp.yml"
        let points = [2, 4, 6, 9, 12, 15, 18, 22, 26, 30, 34, 38, 42, 47, 52, 57, 62, 68, 74, 80]
        let resumeForward: Set<Int> = [15, 42, 68]
        for (index, point) in points.enumerated() {
            let store = live.directory + "/kill-\(point).sqlite"
            let killed = try golive.run(
                ["run", playbook, "-i", live.inventoryPath, "--store", store, "--json"],
                environment: ["GOLIVE_FAULT_KILL_AFTER_EVENTS": String(point)])
            #expect(killed.status == 137, "point \(point): \(killed.output.suffix(500))")
            let id = try #require(
                killed.output.split(separator: "\n").compactMap { line -> String? in
                    guard let data = line.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
                    return object["runID"] as? String
                }.first, "point \(point)")
            let forward = resumeForward.contains(point)
            let recovered = try golive.run(forward ? ["resume", id, "--store", store, "--yes"] : ["resume", id, "--rollback", "--store", store])
            #expect(recovered.status == 0, "point \(point): \(recovered.output.suffix(1500))")
            #expect(all(forward ? "2.0.0" : "1.0.0"), "point \(point)")
            if !forward {
                for host in live.hosts {
                    #expect(!FileManager.default.fileExists(atPath: host.appDirectory + "/releases/2.0.0"), "point \(point) \(host.name)")
                }
            }
            // The timeline is complete: every started step has an end or a controller-lost mark.
            let timeline = try golive.run(["timeline", id, "--store", store, "--format", "json"])
            let document = try #require(try JSONSerialization.jsonObject(with: Data(timeline.output.utf8)) as? [String: Any])
            let events = try #require(document["events"] as? [[String: Any]])
            let sequence = events.compactMap { $0["sequence"] as? Int }
            #expect(sequence == Array(1...sequence.count), "point \(point): gaps in the sequence")
            var open: [String: Int] = [:]
            for event in events {
                let key = "\(event["host"] ?? "")|\(event["step"] ?? "")"
                switch event["kind"] as? String {
                case "stepStarted": open[key, default: 0] += 1
                case "stepFinished", "controllerLost": open[key, default: 0] -= 1
                default: break
                }
            }
            #expect(open.values.allSatisfy { $0 == 0 }, "point \(point): unmatched steps \(open.filter { $0.value != 0 })")
            let integrity = try HostTools.output("/usr/bin/sqlite3", [store, "PRAGMA integrity_check"])
            #expect(integrity.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
            if forward {
                let back = try golive.run(["rollback", id, "--store", store])
                #expect(back.status == 0, "point \(point): \(back.output.suffix(800))")
                #expect(all("1.0.0"))
            }
            _ = index
        }
    }
}
