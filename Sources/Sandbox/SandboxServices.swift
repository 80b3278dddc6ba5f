import Foundation
import System

#if canImport(Glibc)
    import Glibc
#endif

/// The services a sandbox's hosts run besides sshd — nginx, an app server, PostgreSQL, HAProxy —
/// started by whatever built a stack on the hosts (`examples/web-stack/stack.py`) and recorded in
/// `services.json` in the sandbox's directory, each by its pid file.
///
/// ``Sandbox/down()`` stops them first, so one command stops exactly what was started: each pid is
/// read from its pid file (which must lie in the sandbox's directory) and signalled only while it
/// runs the program recorded and its command line still names that directory (a pid reused by
/// another program is left alone), with the signal its daemon shuts down on, then SIGKILL after 15 s;
/// its pid file is removed once it has stopped.
public struct SandboxServices: Sendable {
    /// One recorded service.
    struct Service: Codable {
        /// The host it runs on (`controller` for one on this machine's side).
        var host: String
        /// What it is (`nginx`, `gunicorn`, ...).
        var name: String
        /// The pid file its daemon writes (the pid is its first line).
        var pidfile: String
        /// The signal it stops on: `TERM` (the default), `QUIT` (nginx's graceful stop), `INT`
        /// (PostgreSQL's fast shutdown).
        var signal: String?
        /// The program it runs (`/proc/PID/exe` when it was started): a pid running anything else is not it.
        var executable: String?
    }

    private struct Record: Codable {
        var services: [Service]
    }

    /// The sandbox's directory.
    let directory: String

    private var path: String { directory + "/services.json" }

    /// The recorded services, in the order they were started.
    func services() -> [Service] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return (try? JSONDecoder().decode(Record.self, from: data))?.services ?? []
    }

    /// What ``stopAll()`` did.
    public struct Outcome: Sendable {
        /// How many recorded services were stopped.
        public var stopped = 0
        /// The recorded services it did not stop though something of theirs may still run, each
        /// with why and the pid a person can stop by hand.
        public var leftRunning: [String] = []
    }

    /// Stops the recorded services, the last started first, and forgets them. A service it may not
    /// stop — its pid file gone or naming another program — is never signalled; if a process that
    /// runs the service's program and names a path in the sandbox is still there, it is named in
    /// ``Outcome/leftRunning``, so nothing of a stack runs on unnoticed.
    func stopAll() -> Outcome {
        var outcome = Outcome()
        let recorded = services()
        for service in recorded.reversed() {
            guard let pid = pid(of: service) else { continue }
            let number: Int32 =
                switch service.signal {
                case "QUIT": SIGQUIT
                case "INT": SIGINT
                default: SIGTERM
                }
            Glibc.kill(pid, number)
            if !ChildProcess.waitForExit(of: pid, timeout: .seconds(15)) {
                Glibc.kill(pid, SIGKILL)
                _ = ChildProcess.waitForExit(of: pid, timeout: .seconds(3))
            }
            // A daemon that leaves its pid file behind (HAProxy does) leaves no stale pid for later.
            if pidInFile(service.pidfile) == pid { try? FileManager.default.removeItem(atPath: service.pidfile) }
            outcome.stopped += 1
        }
        // A pid file naming a live process of the recorded program that does not name the sandbox: said, left alone.
        for service in recorded {
            guard let executable = service.executable, let pid = pidInFile(service.pidfile), Self.executable(of: pid) == executable,
                let data = Self.commandLine(of: pid), !namesSandbox(data)
            else { continue }
            outcome.leftRunning.append(
                "pid \(pid) (\(executable)), which the pid file of \(service.name) on \(service.host) names, does not name the sandbox: "
                    + "left alone; if it is the service, stop it with: kill \(pid)")
        }
        // What still runs a recorded program and names the sandbox: said, never stopped by guess.
        let programs = Set(recorded.compactMap(\.executable))
        if !programs.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            for entry in entries {
                guard let pid = pid_t(entry), pid > 1, pid != getpid(), let running = Self.executable(of: pid), programs.contains(running),
                    let data = Self.commandLine(of: pid), namesSandbox(data)
                else { continue }
                // The services it could be: those of the host whose directory it names, else every one running that program.
                let candidates = recorded.filter { $0.executable == running }
                let ofHost = candidates.filter { namesSandbox(data, under: "/hosts/\($0.host)") }
                let names = (ofHost.isEmpty ? candidates : ofHost).map { "\($0.name) on \($0.host)" }
                outcome.leftRunning.append("pid \(pid) (\(running)) still runs in the sandbox, not stopped: its pid file no longer names it "
                    + "(\(Set(names).sorted().joined(separator: ", "))); stop it with: kill \(pid)")
            }
        }
        try? FileManager.default.removeItem(atPath: path)
        return outcome
    }

    /// True when a command line names a path inside the sandbox (or its `subdirectory`): see
    /// ``commandLine(_:namesPathUnder:)``.
    func namesSandbox(_ commandLine: Data, under subdirectory: String = "") -> Bool {
        Self.commandLine(commandLine, namesPathUnder: directory + subdirectory)
    }

    /// True when a command line (`/proc/PID/cmdline`) names a path inside `directory`: one of its
    /// words (or the value of a `--name=VALUE` word), `..` resolved, lies under `directory/` —
    /// another directory at `directory-two`, or `directory/../elsewhere`, does not. Symbolic links
    /// are resolved on both sides (a link inside the directory to elsewhere is elsewhere).
    static func commandLine(_ commandLine: Data, namesPathUnder directory: String) -> Bool {
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path + "/"
        let words = commandLine.split(whereSeparator: { $0 == 0 || $0 == UInt8(ascii: " ") }).map { String(decoding: $0, as: UTF8.self) }
        for word in words {
            for candidate in [word, word.split(separator: "=", maxSplits: 1).dropFirst().first.map(String.init) ?? ""]
            where candidate.hasPrefix("/") {
                if URL(fileURLWithPath: candidate).standardizedFileURL.resolvingSymlinksInPath().path.hasPrefix(root) { return true }
            }
        }
        return false
    }

    /// The pid on the first line of a pid file, if it holds one (above 1).
    private func pidInFile(_ path: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let pid = pid_t(text.split(separator: "\n").first?.trimmingCharacters(in: .whitespaces) ?? ""), pid > 1
        else { return nil }
        return pid
    }

    /// The program a live process runs (`/proc/PID/exe`).
    static func executable(of pid: pid_t) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
    }

    /// A live process's command line (`/proc/PID/cmdline`); nil once it has exited, a zombie too.
    static func commandLine(of pid: pid_t) -> Data? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !ChildProcess.isZombie(pid) else { return nil }
        return data
    }

    /// The service's pid while it still runs as the process that was started: its pid file lies in
    /// the sandbox's directory, it runs the program recorded, and its command line names a path in
    /// that directory (``namesSandbox(_:)``).
    func pid(of service: Service) -> pid_t? {
        guard URL(fileURLWithPath: service.pidfile).standardizedFileURL.path.hasPrefix(directory + "/"),
            let pid = pidInFile(service.pidfile), let data = Self.commandLine(of: pid), namesSandbox(data)
        else { return nil }
        if let executable = service.executable, Self.executable(of: pid) != executable { return nil }
        return pid
    }
}
