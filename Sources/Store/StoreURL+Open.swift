import Engine
import Foundation

extension StoreURL {
    /// Opens the store (creating a SQLite file, migrating a PostgreSQL schema).
    ///
    /// - Parameters:
    ///   - retry: how long a run's journal retries a team store that went away before it writes
    ///     the spill journal instead.
    ///   - warn: told what the operator should know (a password file that was ignored).
    /// - Throws: ``StoreError`` or ``PostgresStoreError`` saying why the store cannot be used.
    public func open(
        environment: [String: String] = ProcessInfo.processInfo.environment, retry: Duration = .seconds(60),
        warn: (String) -> Void = { _ in }
    ) async throws -> any RunStore {
        switch self {
        case .sqlite(let path):
            return try SQLiteStore(path: path)
        case .postgres(let address):
            let (password, warning) = PostgresCredentials.password(for: address, environment: environment)
            if let warning { warn(warning) }
            // Handed to the connection only: no command golive starts (a `local:` step) inherits it.
            for name in ["GOLIVE_STORE_PASSWORD", "PGPASSWORD"] { unsetenv(name) }
            return try await PostgresStore.open(
                address, password: password, retry: retry, spillDirectory: SpillJournal.directory(environment: environment))
        }
    }

    /// Whether there is a store to read: a SQLite file that exists; a database is always there to ask.
    public var exists: Bool {
        switch self {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }
}
