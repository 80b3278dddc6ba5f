import Foundation
import System

/// A real PostgreSQL server (Debian's `postgresql`), started for the tests in a private data
/// directory on a loopback port, with password (SCRAM) login over TCP. Run as root, it runs as
/// the `postgres` user (PostgreSQL refuses to run as root). ``shared`` is started once per test
/// process and stopped, by pid, when the process exits; each test makes its own database.
public final class PostgresServer: @unchecked Sendable {
    /// The superuser the tests log in as.
    public let adminUser = "golive_admin"
    /// Its password.
    public let adminPassword: String
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The private directory (data directory, socket, log).
    public let directory: String
    /// The server's binaries.
    public let binaries: String
    /// The test CA that signed the server's certificate (for `sslrootcert`; the certificate names
    /// `localhost` and `127.0.0.1`).
    public let certificateAuthority: String
    /// Another CA, which signed nothing the server shows (a wrong `sslrootcert`).
    public let otherCertificateAuthority: String
    private var process: ChildProcess
    private let runAs: [String]
    private let lock = NSLock()

    /// The directory of PostgreSQL's binaries, newest version first.
    public static var installedBinaries: String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        return versions.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") }
    }

    nonisolated(unsafe) private static var started: PostgresServer?
    private static let startLock = NSLock()

    /// The server for this test process (started on first use).
    ///
    /// - Throws: when PostgreSQL is not installed or does not start.
    public static func shared() throws -> PostgresServer {
        try startLock.withLock {
            if let started { return started }
            let server = try PostgresServer()
            started = server
            atexit { PostgresServer.started?.stop() }
            return server
        }
    }

    /// Starts a new server.
    ///
    /// - Throws: when PostgreSQL is not installed or does not start within 60 s.
    public init() throws {
        guard let binaries = Self.installedBinaries else {
            throw SandboxError(message: "PostgreSQL is not installed (apt-get install postgresql; .ci/setup does)")
        }
        self.binaries = binaries
        Self.removeAbandoned()
        adminPassword = "pw-" + UUID().uuidString
        directory = "/tmp/golive-pg-" + String(UUID().uuidString.prefix(8)).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: directory + "/owner"))
        let passwordFile = directory + "/admin.pw"
        try Data((adminPassword + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
        if geteuid() == 0 {
            _ = try HostTools.output("/bin/chown", ["-R", "postgres:postgres", directory])
            runAs = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"]
        } else {
            runAs = []
        }
        let data = directory + "/data"
        certificateAuthority = directory + "/ca.crt"
        otherCertificateAuthority = directory + "/other-ca.crt"
        try Self.makeCertificates(in: directory)
        if geteuid() == 0 { _ = try HostTools.output("/bin/chown", ["-R", "postgres:postgres", directory]) }
        try Self.run(
            runAs + [
                binaries + "/initdb", "-D", data, "-U", adminUser, "--pwfile=\(passwordFile)", "--auth-local=trust",
                "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions",
            ])
        var attempt = 0
        while true {
            attempt += 1
            let port = try HostTools.freePort()
            let process = try Self.launch(binaries: binaries, runAs: runAs, directory: directory, port: port)
            if Self.waitReady(binaries: binaries, port: port, process: process) {
                self.port = port
                self.process = process
                break
            }
            process.signal(SIGKILL)
            _ = process.wait()
            if attempt >= 3 {
                let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
                throw SandboxError(message: "PostgreSQL did not start: \(log.suffix(2000))")
            }
        }
    }

    private static func launch(binaries: String, runAs: [String], directory: String, port: Int) throws -> ChildProcess {
        try ChildProcess(
            runAs.first ?? binaries + "/postgres",
            Array(runAs.dropFirst()) + (runAs.isEmpty ? [] : [binaries + "/postgres"]) + [
                "-D", directory + "/data", "-p", String(port), "-k", directory, "-c", "listen_addresses=127.0.0.1",
                "-c", "max_connections=200", "-c", "ssl=on", "-c", "ssl_cert_file=\(directory)/server.crt",
                "-c", "ssl_key_file=\(directory)/server.key",
            ], stderr: directory + "/server.log")
    }

    /// A test CA, a server certificate it signed (for `localhost` and `127.0.0.1`), and another
    /// CA that signed nothing, made with openssl.
    private static func makeCertificates(in directory: String) throws {
        let script = """
            set -e; cd \(ShellQuote.quote(directory))
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=golive-test-ca -keyout ca.key -out ca.crt 2>/dev/null
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=golive-other-ca -keyout other-ca.key -out other-ca.crt 2>/dev/null
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -keyout server.key -out server.csr 2>/dev/null
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt 2>/dev/null
            chmod 600 server.key; chmod 644 ca.crt other-ca.crt server.crt
            """
        let result = try ChildProcess.run("/bin/sh", ["-c", script])
        guard result.status == 0 else { throw SandboxError(message: "cannot make the test certificates: \(result.output.suffix(1000))") }
    }

    /// Stops the server as `pg_ctl stop -m immediate` does (no checkpoint, every session cut: a
    /// crash, as far as its clients can tell). ``start()`` brings it back on the same port.
    public func stopImmediately() {
        lock.withLock {
            _ = try? ChildProcess.run(runAs.first ?? binaries + "/pg_ctl", Array(runAs.dropFirst()) + (runAs.isEmpty ? [] : [binaries + "/pg_ctl"]) + [
                "stop", "-D", directory + "/data", "-m", "immediate", "-w", "-t", "30",
            ])
            if !ChildProcess.waitForExit(of: process.pid, timeout: .seconds(20)) { process.signal(SIGKILL) }
            _ = process.wait()
        }
    }

    /// Starts the server again on its port (after ``stopImmediately()``); it recovers its data.
    ///
    /// - Throws: when it does not accept logins within 60 s.
    public func start() throws {
        try lock.withLock {
            process = try Self.launch(binaries: binaries, runAs: runAs, directory: directory, port: port)
            guard Self.waitReady(binaries: binaries, port: port, process: process) else {
                let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
                throw SandboxError(message: "PostgreSQL did not start again: \(log.suffix(2000))")
            }
        }
    }

    /// Stops the servers that test processes killed before their exit (a timeout's TERM skips
    /// `atexit`) left behind: each directory names the process that started it; when that one is
    /// gone, its server (the pid in its `postmaster.pid`) is stopped and the directory removed.
    static func removeAbandoned() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for entry in entries where entry.hasPrefix("golive-pg-") {
            let directory = "/tmp/" + entry
            guard let owner = (try? String(contentsOfFile: directory + "/owner", encoding: .utf8))
                .flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                kill(owner, 0) != 0, errno == ESRCH
            else { continue }
            let postmaster = (try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8))?
                .split(separator: "\n").first.flatMap { Int32($0) }
            if let postmaster, postmaster > 1,
                let command = try? String(contentsOfFile: "/proc/\(postmaster)/cmdline", encoding: .utf8), command.contains(directory)
            {
                kill(postmaster, SIGINT)
                _ = ChildProcess.waitForExit(of: postmaster, timeout: .seconds(10))
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Waits (bounded, 60 s) until the server on `port` accepts logins, or has exited.
    private static func waitReady(binaries: String, port: Int, process: ChildProcess) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            guard process.isRunning else { return false }
            if (try? ChildProcess.run(binaries + "/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port)]).status) == 0 { return true }
            usleep(50_000)
        }
        return false
    }

    private static func run(_ words: [String]) throws {
        let result = try ChildProcess.run(words[0], Array(words.dropFirst()))
        guard result.status == 0 else {
            throw SandboxError(message: "\(words.joined(separator: " ")) failed: \(result.output.suffix(2000))")
        }
    }

    /// A store URL for `database`, logging in as `user` (the password goes separately).
    public func url(database: String, user: String? = nil) -> String {
        "postgres://\(user ?? adminUser)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// The environment a golive process needs to log in as the admin.
    public var passwordEnvironment: [String: String] { ["GOLIVE_STORE_PASSWORD": adminPassword] }

    /// Creates a new, empty database and returns its name.
    public func createDatabase() throws -> String {
        let name = "golive_test_" + String(UUID().uuidString.prefix(8)).lowercased()
        _ = try psql("CREATE DATABASE \(name)", database: "postgres")
        return name
    }

    /// Runs `sql` with psql as the admin (over the private socket) and returns its unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String) throws -> String {
        let result = try ChildProcess.run(
            "/usr/bin/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", adminUser, "-d", database, "-c", sql],
            environment: ["PGPASSWORD": adminPassword])
        guard result.status == 0 else { throw SandboxError(message: "psql \(sql): \(result.output)") }
        return result.output
    }

    /// Every byte of `database` as `pg_dump` writes it (schema and data, plain SQL).
    public func dump(database: String) throws -> String {
        let result = try ChildProcess.run(
            "/usr/bin/pg_dump", ["-h", "127.0.0.1", "-p", String(port), "-U", adminUser, "-d", database],
            environment: ["PGPASSWORD": adminPassword])
        guard result.status == 0 else { throw SandboxError(message: "pg_dump: \(result.output.suffix(2000))") }
        return result.output
    }

    /// Stops the server (fast shutdown, then KILL) and removes its directory.
    public func stop() {
        lock.withLock {
            if process.isRunning {
                process.signal(SIGINT)
                if !ChildProcess.waitForExit(of: process.pid, timeout: .seconds(20)) {
                    process.signal(SIGKILL)
                }
                _ = process.wait()
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
