import Foundation
import Sandbox
import System

#if canImport(Glibc)
    import Glibc
#endif

/// The example web stack (`examples/web-stack/stack.py`) on a sandbox of its own: HAProxy in front
/// of nginx + gunicorn on each web host, PostgreSQL on db1 — and the load generator that measures a
/// go-live through it.
public final class WebStack: Sendable {
    /// The requests a load generator counted (`examples/web-stack/load.py --out`).
    public struct Load: Sendable {
        /// One second's counts.
        public struct Second: Sendable {
            /// Epoch second.
            public var second: Int
            /// 2xx answers.
            public var ok: Int
            /// Other statuses and connection errors.
            public var failed: Int
            /// Answers by the release that gave them (the X-Release header).
            public var releases: [String: Int]
            /// Answers by status code, and connection errors by kind.
            public var statuses: [String: Int]
            /// Requests not sent on time because their connection was still waiting (a stall).
            public var missed: Int
            /// The slowest answer of the second, in milliseconds.
            public var slowestMS: Int
        }

        /// Every second, in order.
        public var seconds: [Second]
        /// 2xx answers in all.
        public var ok: Int { seconds.reduce(0) { $0 + $1.ok } }
        /// Failed requests in all (statuses other than 2xx, connection errors).
        public var failed: Int { seconds.reduce(0) { $0 + $1.failed } }
        /// The seconds holding a failure, for a message.
        public var failures: [Second] { seconds.filter { $0.failed > 0 } }
        /// Requests not sent on time in all.
        public var missed: Int { seconds.reduce(0) { $0 + $1.missed } }
        /// The slowest answer, in milliseconds.
        public var slowestMS: Int { seconds.map(\.slowestMS).max() ?? 0 }
        /// The seconds whose traffic stalled (a request not sent on time, or an answer slower than
        /// `limit` milliseconds), for a message.
        public func stalls(over limit: Int) -> [Second] { seconds.filter { $0.missed > 0 || $0.slowestMS > limit } }

        /// The releases that answered from `start` (an epoch second) on.
        public func releases(from start: Int) -> [String: Int] {
            seconds.filter { $0.second >= start }.reduce(into: [:]) { all, second in
                for (name, count) in second.releases { all[name, default: 0] += count }
            }
        }
    }

    /// A running load generator.
    public final class LoadGenerator: Sendable {
        let process: ChildProcess
        let output: String
        let counts: String

        init(process: ChildProcess, output: String, counts: String) {
            self.process = process
            self.output = output
            self.counts = counts
        }

        /// Stops it (SIGTERM) and reads what it counted.
        public func stop() throws -> Load {
            process.signal(SIGTERM)
            process.wait()
            guard let data = FileManager.default.contents(atPath: counts),
                let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let seconds = object["per_second"] as? [[String: Any]]
            else { throw SandboxError(message: "the load generator wrote no counts: \(Self.text(output))") }
            return Load(
                seconds: seconds.map {
                    Load.Second(
                        second: $0["second"] as? Int ?? 0, ok: $0["ok"] as? Int ?? 0, failed: $0["failed"] as? Int ?? 0,
                        releases: $0["release"] as? [String: Int] ?? [:], statuses: $0["status"] as? [String: Int] ?? [:],
                        missed: $0["missed"] as? Int ?? 0, slowestMS: $0["max_ms"] as? Int ?? 0)
                })
        }

        static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    }

    /// The package's root.
    public var root: String { golive.root }
    /// The sandbox's directory.
    public let directory: String
    /// The inventory `stack.py up` wrote.
    public let inventory: String
    /// HAProxy's front end (`http://127.0.0.1:PORT`).
    public let url: String
    /// The golive binary.
    public let golive: GoliveBinary

    /// True where the stack can run: root (namespaces) and its Debian packages installed.
    public static var isAvailable: Bool {
        SandboxNetwork.isAvailable
            && ["/usr/sbin/nginx", "/usr/sbin/haproxy", "/usr/bin/gunicorn", "/usr/bin/socat"].allSatisfy {
                FileManager.default.isExecutableFile(atPath: $0)
            }
    }

    /// Starts the stack with `hosts` web hosts in a new temporary directory.
    public init(hosts: Int = 4, golive: GoliveBinary = GoliveBinary()) throws {
        self.golive = golive
        let base = try TestHosts.makeTemporaryDirectory(name: "stack")
        // The hosts' login user and PostgreSQL's user reach their files through it.
        chmod(base, 0o755)
        directory = base + "/sandbox"
        inventory = base + "/stack.yml"
        let (status, output) = try ChildProcess.run(
            "/usr/bin/python3",
            [golive.root + "/examples/web-stack/stack.py", "up", "--golive", golive.path, "--directory", directory, "--hosts", String(hosts),
             "--inventory", inventory])
        guard status == 0 else {
            _ = try? ChildProcess.run(golive.path, ["sandbox", "down", "--directory", directory])
            throw SandboxError(message: "stack.py up failed: \(output)")
        }
        let text = try String(contentsOfFile: inventory, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("  site_url: ") }) else {
            throw SandboxError(message: "the stack's inventory has no site_url")
        }
        url = String(line.dropFirst("  site_url: ".count))
    }

    /// Stops everything the stack started (`golive sandbox down`) and removes its directory.
    public func down() {
        _ = try? golive.run(["sandbox", "down", "--directory", directory])
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: directory).deletingLastPathComponent().path)
    }

    /// Starts the load generator through HAProxy and waits for its first answer.
    public func startLoad(rate: Int = 200, name: String = "load") throws -> LoadGenerator {
        let output = directory + "/../\(name).out", counts = directory + "/../\(name).json"
        let process = try ChildProcess(
            "/usr/bin/python3", [root + "/examples/web-stack/load.py", url, "--rate", String(rate), "--out", counts], stdout: output,
            stderr: output)
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while !LoadGenerator.text(output).contains("load: running") {
            guard process.isRunning, ContinuousClock.now < deadline else {
                process.signal(SIGKILL)
                throw SandboxError(message: "the load generator did not start: \(LoadGenerator.text(output))")
            }
            usleep(20_000)
        }
        return LoadGenerator(process: process, output: output, counts: counts)
    }

    /// The release each web host's `current` points to.
    public func currentReleases() -> [String: String] {
        var releases: [String: String] = [:]
        for host in Sandbox(directory: directory).hosts() where host.name.hasPrefix("web") {
            releases[host.name] = (try? FileManager.default.destinationOfSymbolicLink(atPath: host.appDirectory + "/current"))
                .map { URL(fileURLWithPath: $0).lastPathComponent }
        }
        return releases
    }

    /// What each web host answers itself on `/health` (nginx → its gunicorn), not through HAProxy.
    public func directHealth() -> [String: String] {
        var answers: [String: String] = [:]
        for host in Sandbox(directory: directory).hosts() where host.name.hasPrefix("web") {
            let (status, output) = (try? ChildProcess.run("/usr/bin/curl", ["-sS", "-m", "2", "http://\(host.address)/health"])) ?? (1, "")
            answers[host.name] = status == 0 ? output.trimmingCharacters(in: .whitespacesAndNewlines) : "unreachable: \(output)"
        }
        return answers
    }

    /// What HAProxy reports of each web host (`UP`, `DOWN`, `DRAIN`, ...), from its runtime API.
    public func balancerStates() throws -> [String: String] {
        let (_, output) = try ChildProcess.run(
            "/bin/sh", ["-c", "echo 'show stat' | socat -t 5 stdio UNIX-CONNECT:\(ShellQuote.quote(directory + "/haproxy/admin.sock"))"])
        var states: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if fields.count > 17, fields[0] == "app", fields[1].hasPrefix("web") { states[String(fields[1])] = String(fields[17]) }
        }
        return states
    }

    /// A web host's directory.
    public func hostRoot(_ name: String) -> String { directory + "/hosts/" + name }

    /// The answer of one SQL statement on db1's database `shop` (`psql -At`).
    public func sql(_ statement: String) throws -> String {
        guard let binaries = PostgresServer.installedBinaries else { throw SandboxError(message: "PostgreSQL is not installed") }
        let (status, output) = try ChildProcess.run(
            binaries + "/psql",
            ["-X", "-At", "-h", hostRoot("db1") + "/run/postgresql", "-p", "5432", "-U", "webshop", "-d", "shop", "-c", statement])
        guard status == 0 else { throw SandboxError(message: "psql failed: \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
