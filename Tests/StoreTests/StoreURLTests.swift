import Foundation
import GoliveTestSupport
import Store
import Testing

/// `--store` as a path or a URL, and where the PostgreSQL password comes from.
@Suite struct StoreURLTests {
    let environment = ["USER": "ana", "HOME": "/nonexistent"]

    @Test func pathsAndSQLiteURLsAreFiles() throws {
        #expect(try StoreURL("/srv/golive.sqlite", environment: environment) == .sqlite(path: "/srv/golive.sqlite"))
        #expect(try StoreURL("relative/golive.sqlite", environment: environment) == .sqlite(path: "relative/golive.sqlite"))
        #expect(try StoreURL("sqlite:/srv/x.sqlite", environment: environment) == .sqlite(path: "/srv/x.sqlite"))
        #expect(try StoreURL("sqlite:///srv/x.sqlite", environment: environment) == .sqlite(path: "/srv/x.sqlite"))
    }

    @Test func aPostgresURLTakesLibpqsDefaults() throws {
        guard case .postgres(let full) = try StoreURL("postgres://golive@db.example.com:6432/timeline?sslmode=require", environment: environment)
        else { throw StoreTestError.notPostgres }
        #expect(full.user == "golive" && full.host == "db.example.com" && full.port == 6432 && full.database == "timeline" && full.tls == .require)
        #expect(full.description == "postgres://golive@db.example.com:6432/timeline?sslmode=require")
        guard case .postgres(let bare) = try StoreURL("postgresql://", environment: environment) else { throw StoreTestError.notPostgres }
        #expect(bare.user == "ana" && bare.host == "localhost" && bare.port == 5432 && bare.database == "ana" && bare.tls == .prefer)
        let fromEnvironment = environment.merging(["PGUSER": "ops", "PGHOST": "10.0.0.5", "PGPORT": "5433", "PGDATABASE": "golive"]) { $1 }
        guard case .postgres(let defaults) = try StoreURL("postgres://", environment: fromEnvironment) else { throw StoreTestError.notPostgres }
        #expect(defaults.description == "postgres://ops@10.0.0.5:5433/golive")
        guard case .postgres(let v6) = try StoreURL("postgres://u@[::1]:5432/d", environment: environment) else { throw StoreTestError.notPostgres }
        #expect(v6.host == "::1" && v6.description == "postgres://u@[::1]:5432/d")
    }

    @Test func aPasswordInTheURLIsRefusedAndNeverRepeated() {
        for text in [
            "postgres://golive:hunter2secret@db:5432/x", "postgres://golive@db/x?password=hunter2secret",
            "postgres://golive%3Ahunter2secret@db/x", "postgres://db/x?user=golive:hunter2secret", "postgres://db/x?pass%77ord=hunter2secret",
            "postgres://db/x?PASSWORD=hunter2secret", "postgres://db/x?password%3Dhunter2secret", "postgres://db/x#password=hunter2secret",
        ] {
            do {
                _ = try StoreURL(text, environment: environment)
                Issue.record("accepted \(text)")
            } catch {
                let message = "\(error)"
                #expect(!message.contains("hunter2secret"), "\(message)")
            }
        }
    }

    @Test func whatIsNotAStoreIsRefusedSayingWhy() {
        let cases = [
            ("mysql://db/x", "unknown kind of store"), ("postgres://db:99999/x", "not a port"),
            ("postgres://db/x?sslmode=sometimes", "sslmode=sometimes"), ("postgres://db/x?sslmode=verify-full", "does not exist"), ("postgres://db/x?sslmode=allow", "not supported"),
            ("postgres://db/x?sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt", "/nonexistent/ca.crt does not exist"),
            ("postgres://db/x?sslmode=require&sslrootcert=/etc/hostname", "only by sslmode=verify-ca or verify-full"),
            ("postgres://db/x?sslrootcert=", "names no file"),
            ("postgres://db/x?sslmode=verify-full&sslrootcert=/etc/hostname", "/etc/hostname holds no PEM certificate"),
            ("postgres://db/x?sslmode=verify-full&sslmode=disable", "sslmode is given twice"),
            ("postgres://db/x?user=a&user=b", "user is given twice"),
            ("postgres://db/x?connect_timeout=0", "connect_timeout"), ("postgres://db/x?search_path=evil", "unknown parameter"),
            ("sqlite:", "no file"), ("postgres:golive@db/x", "not a PostgreSQL URL"), ("postgres//golive@db/x", "not a PostgreSQL URL"),
        ]
        for (text, expected) in cases {
            #expect(throws: (any Error).self) { try StoreURL(text, environment: environment) }
            let message = (try? StoreURL(text, environment: environment)).map { "accepted as \($0)" } ?? {
                do { _ = try StoreURL(text, environment: environment) } catch { return "\(error)" }
                return ""
            }()
            #expect(message.contains(expected), "\(text): \(message)")
        }
    }

    @Test func thePasswordComesFromTheEnvironmentThenThePasswordFile() throws {
        let directory = NSTemporaryDirectory() + "golive-pgpass-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard case .postgres(let address) = try StoreURL("postgres://golive@db.example.com:5432/timeline", environment: environment) else {
            throw StoreTestError.notPostgres
        }
        let file = directory + "/pgpass"
        try """
        # host:port:database:user:password
        other.example.com:5432:timeline:golive:wrong
        db.example.com:*:timeline:golive:pa\\:ss\\\\word
        *:*:*:*:fallback
        """.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        var lookup = environment.merging(["PGPASSFILE": file]) { $1 }
        #expect(PostgresCredentials.password(for: address, environment: lookup).password == "pa:ss\\word")
        lookup["PGPASSWORD"] = "from-pgpassword"
        #expect(PostgresCredentials.password(for: address, environment: lookup).password == "from-pgpassword")
        lookup["GOLIVE_STORE_PASSWORD"] = "from-golive"
        #expect(PostgresCredentials.password(for: address, environment: lookup).password == "from-golive")
        // A file others can read is ignored, as libpq ignores it, and said so.
        chmod(file, 0o644)
        let loose = PostgresCredentials.password(for: address, environment: environment.merging(["PGPASSFILE": file]) { $1 })
        #expect(loose.password == nil && loose.warning?.contains("ignored") == true && loose.warning?.contains("wrong") == false)
    }
}

enum StoreTestError: Error { case notPostgres }
