import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Sandbox
import Store
import Testing

/// A small filesystem of its own (tmpfs), mounted for a test and unmounted after.
struct SmallDisk {
    let path: String

    init(at path: String, size: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try HostTools.sh("mount -t tmpfs -o size=\(size),mode=0700 golive-test \(path)")
    }

    func unmount() { _ = try? HostTools.sh("umount -l \(path)") }
}

/// Host and controller faults: full disks, floods of output.
@Suite(.serialized) struct HostFaultTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 2) }

    @Test(.enabled(if: geteuid() == 0, "mounting a small filesystem needs root"))
    func aFullBackupDiskFailsTheBackupBeforeAnyChange() async throws {
        let web2 = try #require(live.host("web2"))
        // 2 MB of incompressible data to back up, into a 256 KB disk.
        _ = try live.shell("head -c 2097152 /dev/urandom > \(web2.appDirectory)/releases/1.0.0/blob")
        let disk = try SmallDisk(at: web2.root + "/srv/backups", size: "256k")
        defer { disk.unmount() }
        let play = try live.write(releasePlaybook(serial: "2"))
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 1, "\(outcome.status) \(outcome.attention)")
        let backup = try #require(events.first { $0.kind == .stepFinished && $0.host == "web2" && $0.phase == .backup })
        #expect(backup.status == "failed")
        #expect((backup.stderr ?? "").contains("No space left on device") || (backup.message ?? "").contains("No space left"), "\(backup)")
        // Nothing was deployed anywhere, and no partial archive is left on the full disk.
        #expect(!events.contains { $0.kind == .stepStarted && $0.phase == .deploy })
        #expect(live.hosts.allSatisfy { live.current($0.name) == "1.0.0" })
        #expect(try FileManager.default.contentsOfDirectory(atPath: disk.path).isEmpty)
    }

    static let faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: faketime), "needs libfaketime (Debian package faketime)"))
    func aHostWhoseClockIsHoursOffIsDeployedAndRolledBackAlike() async throws {
        try live.sandbox.restart("web2", environment: ["LD_PRELOAD": Self.faketime, "FAKETIME": "-5h"])
        let play = try live.write(
            releasePlaybook(serial: "2", deploy: "  - name: clock\n    shell: date -u +%s\n  - name: fail\n    shell: exit 1"))
        let (outcome, events) = try await live.execute(play)
        // web2 really lives 5 hours in the past.
        let clocks = Dictionary(
            uniqueKeysWithValues: events.filter { $0.kind == .stepFinished && $0.stepName == "clock" }.compactMap { event in
                event.host.flatMap { host in event.stdout.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.map { (host, $0) } }
            })
        let said = "\(outcome.status): \(events.compactMap { $0.message }.suffix(8))"
        let skew = try #require(clocks["web1"], "\(said)") - (try #require(clocks["web2"], "\(said)"))
        #expect(abs(skew - 5 * 3600) < 120, "skew \(skew) s")
        // Nothing depends on the hosts' clocks: the rollback (archive restore included) is exact on both.
        #expect(outcome.exitCode == 1, "\(outcome.status) \(outcome.attention)")
        #expect(live.hosts.allSatisfy { live.current($0.name) == "1.0.0" })
        #expect(events.filter { $0.kind == .rollbackHostFinished && $0.status == "ok" }.count == 2)
        // The timeline keeps the controller's clock: in order, whatever the hosts say.
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.time <= $1.time })
    }

    @Test func fiftyMegabytesOfOutputAreBoundedOnTheTimeline() async throws {
        let play = try live.write(
            """
            name: flood
            hosts: web1
            deploy:
              - name: flood
                shell: head -c 52428800 /dev/zero | tr '\\0' x; echo; echo the end
            """)
        let store = try SQLiteStore(path: live.directory + "/flood.sqlite")
        let runID = "flood-\(UInt32.random(in: 0...UInt32.max))"
        let (outcome, _) = try await live.execute(play, journal: try await store.journal(runID: runID)) { $0.runID = runID }
        #expect(outcome.exitCode == 0)
        let events = try await store.events(runID: runID)
        let finished = try #require(events.first { $0.kind == .stepFinished && $0.step == "deploy[0]" })
        let stdout = try #require(finished.stdout)
        #expect(stdout.utf8.count <= 140_000, "\(stdout.utf8.count) bytes kept")
        #expect(stdout.hasSuffix("the end\n"))
        #expect((finished.outputOmitted ?? 0) > 52_000_000)
        let size = try FileManager.default.attributesOfItem(atPath: store.path)[.size] as? NSNumber
        #expect((size?.intValue ?? 0) < 4_000_000)
    }

    @Test(.enabled(if: geteuid() == 0, "mounting a small filesystem needs root"))
    func aFullStoreDiskStopsTheRunAndRollsBack() async throws {
        let disk = try SmallDisk(at: live.directory + "/storedisk", size: "4m")
        defer { disk.unmount() }
        let store = try SQLiteStore(path: disk.path + "/golive.sqlite")
        let runID = "full-\(UInt32.random(in: 0...UInt32.max))"
        let play = try live.write(
            releasePlaybook(serial: "1", deploy: "  - name: slow\n    shell: sleep 1"))
        let live = self.live
        let (outcome, _) = try await live.execute(play, journal: try await store.journal(runID: runID)) { $0.runID = runID } during: { _ in
            // Once the first host is being changed, fill the disk under the store.
            _ = await eventually {
                let events: [RunEvent] = (try? await store.events(runID: runID)) ?? []
                return events.contains { $0.kind == .stepStarted && $0.step == "deploy[3]" }
            }
            _ = try? live.shell("head -c 8388608 /dev/zero > \(disk.path)/filler 2>/dev/null; true")
        }
        // The run stopped rather than going on unrecorded, and every changed host was rolled back.
        #expect(outcome.exitCode != 0)
        #expect(outcome.reason?.contains("timeline") == true || outcome.status.contains("roll"), "\(outcome.status) \(outcome.reason ?? "")")
        #expect(live.hosts.allSatisfy { live.current($0.name) == "1.0.0" }, "\(live.hosts.map { live.current($0.name) ?? "?" })")
        #expect(live.current("web2") == "1.0.0" && !FileManager.default.fileExists(atPath: live.host("web2")!.appDirectory + "/releases/2.0.0"))
        // What was written before the disk filled is intact.
        _ = try? live.shell("rm -f \(disk.path)/filler")
        #expect(try store.integrityCheck() == "ok")
        let recorded = try await store.events(runID: runID)
        #expect(recorded.first?.kind == .runStarted)
    }
}
