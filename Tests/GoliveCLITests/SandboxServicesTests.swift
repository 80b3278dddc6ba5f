import Foundation
import GoliveTestSupport
import System
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `golive sandbox down` stops the services a stack recorded in the sandbox's `services.json` — and
/// only those: a pid file outside the sandbox, a pid now held by another program (even one naming
/// the sandbox's files), or a process of a sandbox whose directory merely starts with this one's
/// name is left alone.
struct SandboxServicesTests {
    let golive = GoliveBinary()

    /// A process of this test's that sleeps, with `words` on its command line.
    private func sleeper(_ words: String...) throws -> ChildProcess {
        try ChildProcess("/usr/bin/python3", ["-c", "import time; time.sleep(300)"] + words)
    }

    @Test func downStopsTheRecordedServicesAndLeavesEveryOtherProcessAlone() throws {
        let base = try TestHosts.makeTemporaryDirectory(name: "services")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let directory = base + "/sandbox", elsewhere = base + "/elsewhere"
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        // The program each record names: what python3 runs as (/proc/PID/exe resolves links).
        let python = URL(fileURLWithPath: "/usr/bin/python3").resolvingSymlinksInPath().path
        // Ours: its pid file in the sandbox, the program recorded, its command line naming a path in the sandbox.
        let ours = try sleeper(directory + "/run/ours")
        // Named in the record, but its pid file lies outside the sandbox.
        let outside = try sleeper(directory + "/run/outside")
        // Its pid file is in the sandbox, but the pid is now another program's (a reused pid)...
        let foreign = try sleeper()
        // ... or a program that names the sandbox's files but is not the one recorded (an operator's `tail -f`)...
        try "".write(toFile: directory + "/run/access.log", atomically: true, encoding: .utf8)
        let tail = try ChildProcess("/usr/bin/tail", ["-f", directory + "/run/access.log"])
        // ... or a service of another sandbox whose directory starts with this one's name.
        let sibling = try sleeper(directory + "-two/run/web1")
        // ... or one whose path only climbs out of the sandbox's.
        let climber = try sleeper(directory + "/../elsewhere/run")
        let everyone = [ours, outside, foreign, tail, sibling, climber]
        defer { for process in everyone { process.signal(SIGKILL); process.wait() } }
        let files = [
            (ours, directory + "/run/ours.pid"), (outside, elsewhere + "/outside.pid"), (foreign, directory + "/run/foreign.pid"),
            (tail, directory + "/run/tail.pid"), (sibling, directory + "/run/sibling.pid"), (climber, directory + "/run/climber.pid"),
        ]
        for (process, file) in files { try "\(process.pid)\n".write(toFile: file, atomically: true, encoding: .utf8) }
        let record: [String: Any] = [
            "services": files.enumerated().map { index, entry in
                ["host": "web1", "name": "service\(index)", "pidfile": entry.1, "signal": "TERM", "executable": python]
            }
        ]
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: directory + "/services.json"))

        let down = try golive.run(["sandbox", "down", "--directory", directory])
        // Something may still run that a person must look at: exit 4.
        #expect(down.status == 4, "\(down.output)")
        #expect(down.output.contains("and 1 service(s) running on them"), "\(down.output)")
        // What still runs the recorded program and names a path in the sandbox is said, with its pid: not stopped.
        #expect(down.output.contains("warning: pid \(outside.pid) (\(python)) still runs in the sandbox, not stopped"), "\(down.output)")
        // A pid file naming the recorded program that does not name the sandbox: said, left alone.
        for process in [foreign, sibling, climber] {
            #expect(down.output.contains("warning: pid \(process.pid) (\(python)), which the pid file of"), "\(down.output)")
        }
        // Another program altogether (the operator's tail) is no service of the stack: not a word.
        #expect(!down.output.contains("pid \(tail.pid) "), "\(down.output)")
        #expect(!ours.isRunning)
        #expect(outside.isRunning && foreign.isRunning && tail.isRunning && sibling.isRunning && climber.isRunning)
        // The stopped service's pid file went with it; the others' stay.
        #expect(!FileManager.default.fileExists(atPath: directory + "/run/ours.pid"))
        #expect(FileManager.default.fileExists(atPath: directory + "/run/tail.pid"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/services.json"))
        // A second down finds nothing more to stop.
        #expect(try golive.run(["sandbox", "down", "--directory", directory]).output == "stopped 0 host(s)\n")
    }
}
