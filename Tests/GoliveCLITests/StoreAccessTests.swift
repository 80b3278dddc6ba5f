import Foundation
import GoliveTestSupport
import System
import Testing

/// Who may do what with the team store, and how the connection is protected, against the shared
/// real PostgreSQL server: the roles of docs/sql/roles.sql (an operator runs and unlocks, a reader
/// reads and is refused `run` before any host is touched; unlocks record the database's login),
/// and TLS verified against a CA made for the test (the right one connects, a wrong one is refused).
@Suite(.serialized) struct StoreAccessTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    let server: PostgresServer
    let database: String

    init() throws {
        live = try LiveHosts(count: 2)
        server = try PostgresServer.shared()
        database = try server.createDatabase()
    }

    /// A login of `role`, with its password; returns the environment that logs in with it.
    func login(_ role: String) throws -> (name: String, environment: [String: String]) {
        let name = "\(role.replacingOccurrences(of: "golive_", with: ""))_\(UInt32.random(in: 0...UInt32.max))"
        let password = "pw-" + UUID().uuidString
        try server.psql("CREATE ROLE \(name) LOGIN PASSWORD '\(password)' IN ROLE \(role)", database: database)
        let home = live.directory + "/home-\(name)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        return (name, ["HOME": home, "GOLIVE_STORE": server.url(database: database, user: name), "GOLIVE_STORE_PASSWORD": password, "GOLIVE_OPERATOR": "ana"])
    }

    func rolesSQL() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs/sql/roles.sql"), encoding: .utf8)
    }

    @Test func anOperatorRunsAndUnlocksAReaderOnlyReads() async throws {
        // The owner creates the schema (any command), then the roles as the docs give them.
        let owner = server.passwordEnvironment.merging(["HOME": live.directory, "GOLIVE_STORE": server.url(database: database)]) { $1 }
        #expect(try golive.run(["runs"], environment: owner).status == 0)
        try server.psql(try rolesSQL(), database: database)
        let (operatorName, operatorEnvironment) = try login("golive_operator")
        let (_, reader) = try login("golive_reader")
        let play = try live.write(
            """
            name: access
            hosts: web
            deploy:
              - name: mark
                shell: echo marked > {{ app_dir }}/marked
                rollback: rm -f {{ app_dir }}/marked
            """, name: "access.yml")
        let before = try Dictionary(uniqueKeysWithValues: live.hosts.map { ($0.name, try treeListing($0.appDirectory)) })
        // The reader: refused before any host is touched, with what to do.
        let refused = try golive.run(["run", play, "-i", live.inventoryPath, "--yes"], environment: reader)
        #expect(refused.status == 3, "\(refused.output)")
        #expect(refused.output.contains("may only read") && refused.output.contains("operator"), "\(refused.output)")
        for host in live.hosts {
            #expect(try treeListing(host.appDirectory) == before[host.name], "\(host.name) was touched by a reader's run")
            #expect(!FileManager.default.fileExists(atPath: host.lockDirectory))
        }
        // The operator runs; the reader reads it.
        let ran = try golive.run(["run", play, "-i", live.inventoryPath, "--yes", "--json"], environment: operatorEnvironment)
        #expect(ran.status == 0, "\(ran.output.suffix(1500))")
        let id = try #require(GoliveBinary.runID(in: ran.output))
        for arguments in [["runs"], ["timeline", id], ["report", id], ["timeline", id, "--format", "json"]] {
            let read = try golive.run(arguments, environment: reader)
            #expect(read.status == 0, "\(arguments): \(read.output.suffix(800))")
        }
        #expect(try golive.run(["rollback", id, "--yes"], environment: reader).status == 3, "a reader rolled back")
        #expect(try golive.run(["unlock", "sandbox", "--reason", "x"], environment: reader).status == 3, "a reader unlocked")
        // An unlock records the database's login, not the name the operator gives.
        try server.psql(
            "INSERT INTO golive.locks (environment, run_id, operator, controller, reason, since, lease, token, lease_seconds) "
                + "VALUES ('sandbox', '\(id)', 'someone', 'elsewhere pid 1', 'test', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '1-x', 60)",
            database: database)
        let unlocked = try golive.run(["unlock", "sandbox", "--reason", "stale", "--force", "-i", live.inventoryPath], environment: operatorEnvironment)
        #expect(unlocked.status == 0, "\(unlocked.output)")
        let released = try golive.timelineEvents(id, store: server.url(database: database), environment: owner).last
        #expect((released?["message"] as? String)?.contains("released by \(operatorName) (operator ana)") == true, "\(String(describing: released))")
    }

    @Test func tlsIsVerifiedAgainstTheNamedCertificateAuthority() async throws {
        let base = "postgres://\(server.adminUser)@localhost:\(server.port)/\(database)"
        let environment = server.passwordEnvironment.merging(["HOME": live.directory]) { $1 }
        for (mode, extra) in [("require", ""), ("verify-ca", "&sslrootcert=\(server.certificateAuthority)"), ("verify-full", "&sslrootcert=\(server.certificateAuthority)")] {
            let result = try golive.run(["runs", "--store", base + "?sslmode=\(mode)" + extra], environment: environment)
            #expect(result.status == 0, "\(mode): \(result.output)")
        }
        let byAddress = "postgres://\(server.adminUser)@127.0.0.1:\(server.port)/\(database)?sslmode=verify-full&sslrootcert=\(server.certificateAuthority)"
        #expect(try golive.run(["runs", "--store", byAddress], environment: environment).status == 0, "the certificate names 127.0.0.1")
        // The session really is encrypted.
        let ssl = try server.psql("SELECT count(*) FROM pg_stat_ssl WHERE ssl", database: database)
        #expect(Int(ssl.trimmingCharacters(in: .whitespacesAndNewlines)) != nil)
        let wrong = try golive.run(
            ["runs", "--store", base + "?sslmode=verify-full&sslrootcert=\(server.otherCertificateAuthority)"], environment: environment)
        #expect(wrong.status == 3, "\(wrong.output)")
        #expect(wrong.output.contains("not signed by the root certificate"), "\(wrong.output)")
        #expect(!wrong.output.contains(server.adminPassword))
        let missing = try golive.run(["runs", "--store", base + "?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt"], environment: environment)
        #expect(missing.status == 2 && missing.output.contains("does not exist"), "\(missing.output)")
        let noRoot = try golive.run(["runs", "--store", base + "?sslmode=verify-ca"], environment: environment)
        #expect(noRoot.status == 2 && noRoot.output.contains(".postgresql/root.crt"), "\(noRoot.output)")
    }
}
