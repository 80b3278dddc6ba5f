import Foundation
import GoliveTestSupport
import Sandbox
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The controller is SIGKILLed, or SIGSTOPped and later continued, at random points, while a
/// second process tries `resume`, `resume --rollback`, `rollback` or `unlock` at random — before or
/// after the first one's lease ran out. After each round: every host is entirely old or entirely
/// new (compared file by file), the journal has no gap, no step ever ran twice at once on a host
/// (a host-side `flock` shows it), and the store is sound.
///
/// `GOLIVE_KILL_LOOP_RUNS` rounds (8; 50 with `GOLIVE_FULL=1`) from `GOLIVE_KILL_LOOP_SEED`
/// (fixed by default, so CI replays the same rounds; printed with every failure).
@Suite(.serialized) struct KillLoopTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    static let playbook = """
        name: traced deploy
        hosts: web
        serial: 2
        backup:
          - name: snapshot
            archive: { path: "{{ app_dir }}/releases", to: "{{ app_dir }}/../backups/releases-{{ run.id }}.tgz" }
        deploy:
          - name: previous
            shell: basename "$(readlink {{ app_dir }}/current)"
            register: previous
          - name: release
            shell: STEP release; mkdir -p {{ app_dir }}/releases/2.0.0 && echo "ok 2.0.0" > {{ app_dir }}/releases/2.0.0/health; sleep 0.3; END release
          - name: switch
            shell: STEP switch; sleep 0.4; ln -sfn releases/2.0.0 {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current; END switch
            rollback: ln -sfn releases/{{ previous.stdout }} {{ app_dir }}/current.new && mv -T {{ app_dir }}/current.new {{ app_dir }}/current
        health:
          interval: 300ms
          duration: 600ms
          probes:
            - http: { url: "http://{{ host.address }}:{{ http_port }}/health", status: 200, contains: ok }
        """

    /// The playbook with its step markers: each step holds a host-side `flock` for as long as it
    /// runs (a second copy started meanwhile writes OVERLAP) and traces its start and end.
    func tracedPlaybook() throws -> String {
        var text = Self.playbook
        for name in ["release", "switch"] {
            text = text.replacingOccurrences(
                of: "STEP \(name);",
                with: "t={{ app_dir }}/../../trace; exec 9>>{{ app_dir }}/../../lock-\(name); flock -n 9 || echo \"OVERLAP \(name) $$\" >> $t; echo \"start \(name) $$\" >> $t;")
            text = text.replacingOccurrences(of: "END \(name)", with: "echo \"end \(name) $$\" >> $t")
        }
        return try live.write(text, name: "traced.yml")
    }

    enum Fault: CaseIterable { case kill, stop }
    enum Racer: String, CaseIterable { case resume, resumeRollback, rollback, unlock }

    func status(of id: String, store: String) throws -> String {
        let output = try golive.run(["runs", "--store", store, "--json"]).output
        for line in output.split(separator: "\n") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["id"] as? String == id {
                return object["status"] as? String ?? "?"
            }
        }
        return "missing"
    }

    func eventCount(_ log: String) -> Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("{") }.count
    }

    /// The same loop through each SSH implementation: the process groups, the fencing token and the
    /// host locks are the transport's to carry.
    @Test(arguments: ["libssh2", "openssh"])
    func randomKillsStopsAndRacingRecoveriesLeaveNothingHalfChanged(_ transport: String) async throws {
        let inventory = transport == "libssh2" ? live.inventoryPath : try live.inventory(transport: transport)
        let environment = ProcessInfo.processInfo.environment
        let full = environment["GOLIVE_FULL"] == "1"
        let rounds = Int(environment["GOLIVE_KILL_LOOP_RUNS"] ?? "") ?? (full ? 50 : 8)
        let seed = UInt64(environment["GOLIVE_KILL_LOOP_SEED"] ?? "") ?? 20_261_201
        var generator = SplitMix64(seed: seed)
        let play = try tracedPlaybook()
        let old = try Dictionary(uniqueKeysWithValues: live.hosts.map { ($0.name, try treeListing($0.appDirectory)) })
        for round in 1...rounds {
            let fault = Fault.allCases.randomElement(using: &generator) ?? .kill
            let point = Int.random(in: 2...70, using: &generator)
            let racer = Racer.allCases.randomElement(using: &generator) ?? .resume
            let late = Bool.random(using: &generator)
            let label = "\(transport) seed \(seed) round \(round): \(fault) at \(point), \(racer.rawValue)\(late ? " after the lease" : "")"
            let store = live.directory + "/loop-\(round).sqlite"
            let log = live.directory + "/loop-\(round).log"
            for host in live.hosts { try? FileManager.default.removeItem(atPath: host.root + "/trace") }
            var env: [String: String] = [:]
            if fault == .kill { env["GOLIVE_FAULT_KILL_AFTER_EVENTS"] = String(point) }
            let first = try golive.start(
                ["run", play, "-i", inventory, "--store", store, "--json", "--lease", "1s"], output: log, environment: env)
            var stopped = false
            if fault == .stop {
                let reached = await eventually(timeout: .seconds(60)) { eventCount(log) >= point || !first.isRunning }
                #expect(reached, "\(label)")
                if first.isRunning {
                    first.signal(SIGSTOP)
                    stopped = true
                }
            } else {
                _ = first.wait()
            }
            let id = try #require(GoliveBinary.runID(in: (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""), "\(label)")
            if late { try await Task.sleep(for: .milliseconds(1500)) }  // let the 1 s lease run out: a wall-clock lease
            let arguments: [String]
            switch racer {
            case .resume: arguments = ["resume", id, "--store", store, "--yes"]
            case .resumeRollback: arguments = ["resume", id, "--rollback", "--store", store]
            case .rollback: arguments = ["rollback", id, "--store", store]
            case .unlock: arguments = ["unlock", "sandbox", "--reason", "kill loop", "--store", store]
            }
            let raced = try golive.run(arguments)
            let alive = stopped || first.isRunning
            if alive && racer != .unlock {
                // Never recovered under a live controller's feet (a `resume` of a run that had
                // just ended when it was stopped is refused as invalid: exit 2).
                let ended = racer == .resume && raced.status == 2 && raced.output.contains("has ended")
                #expect(raced.status == 3 || ended, "\(label): a live run was recovered: \(raced.output.suffix(600))")
            }
            if alive && racer == .unlock && !late {
                #expect(raced.status == 3, "\(label): a fresh lease was unlocked: \(raced.output.suffix(600))")
            }
            if stopped { first.signal(SIGCONT) }
            let firstStatus = first.wait()
            print("kill loop \(label): racer exit \(raced.status), controller exit \(firstStatus), \(alive ? "alive" : "dead") when raced")
            if !alive && racer == .resume && raced.status == 0 {
                #expect(live.hosts.allSatisfy { live.current($0.name) == "2.0.0" }, "\(label): a resumed run left hosts behind")
            }
            // Bring the hosts back to the old release, whatever state the round left.
            switch try status(of: id, store: store) {
            case "succeeded":
                let back = try golive.run(["rollback", id, "--store", store])
                #expect(back.status == 0, "\(label): \(back.output.suffix(800))")
            case "running", "needs-attention":
                let back = try golive.run(["resume", id, "--rollback", "--store", store])
                #expect(back.status == 0, "\(label) (first exited \(firstStatus)): \(back.output.suffix(1200))")
            default:
                break
            }
            for host in live.hosts {
                // No lock is left behind to refuse the next round's run.
                #expect(!FileManager.default.fileExists(atPath: host.root + "/var/tmp/golive/lock"), "\(label): \(host.name) is still locked")
                #expect(try treeListing(host.appDirectory) == old[host.name], "\(label): \(host.name) is not entirely old")
                let trace = (try? String(contentsOfFile: host.root + "/trace", encoding: .utf8)) ?? ""
                #expect(!trace.contains("OVERLAP"), "\(label): a step ran twice at once on \(host.name): \(trace)")
            }
            let events = try golive.timelineEvents(id, store: store)
            let sequence = events.compactMap { $0["sequence"] as? Int }
            #expect(sequence == Array(1...sequence.count), "\(label): gaps in the journal")
            let integrity = try HostTools.output("/usr/bin/sqlite3", [store, "PRAGMA integrity_check"])
            #expect(integrity.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(label)")
        }
    }
}
