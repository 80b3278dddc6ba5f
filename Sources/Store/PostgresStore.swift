import Engine
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// The team store: the same timeline as ``SQLiteStore`` (runs, events, step and probe results,
/// artifacts, plans, environment locks) in a PostgreSQL database every controller and viewer
/// names by URL. Each event is committed (`synchronous_commit = on`) before the action it
/// announces, a batch of concurrent appends in one transaction; each commit notifies
/// `golive_events`, which `watch` listens on. The tables live in the schema `golive`.
public final class PostgresStore: SQLTimeline {
    /// The database.
    public let address: PostgresAddress
    let writer: PostgresChannel
    let reader: PostgresChannel
    let feed: PostgresChangeFeed

    /// Connects to `address` and brings its schema up to date (once, whoever else is starting).
    ///
    /// - Throws: ``PostgresStoreError`` when the server cannot be reached, refuses the login, or
    ///   the schema cannot be migrated.
    /// - Parameters:
    ///   - retry: how long a run's journal retries a store that went away before it spills.
    ///   - spillDirectory: where a run's spill journal is written then.
    public static func open(
        _ address: PostgresAddress, password: String?, retry: Duration = .seconds(60), spillDirectory: String = SpillJournal.directory()
    ) async throws -> PostgresStore {
        let store = PostgresStore(address: address, password: password, retry: retry, spillDirectory: spillDirectory)
        do {
            try await PostgresSchema.migrate(store.writer)
            let id = try await store.reader.withConnection { connection in
                try await connection.rows("SELECT id FROM golive.store", []).first?.text("id")
            }
            store.storeID.withLock { $0 = id ?? address.identity }
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// How long a run's journal retries the store when it went away, before it spills.
    let retry: Duration
    /// Where spill journals are written.
    let spillDirectory: String
    /// The store's own name (`golive.store`), which spill journals carry.
    let storeID = Mutex<String>("")

    init(address: PostgresAddress, password: String?, retry: Duration = .seconds(60), spillDirectory: String = SpillJournal.directory()) {
        self.address = address
        self.retry = retry
        self.spillDirectory = spillDirectory
        let connect = Self.connector(address, password: password)
        writer = PostgresChannel(connect: connect)
        reader = PostgresChannel(connect: connect)
        feed = PostgresChangeFeed(connect: connect)
    }

    /// How long (ms) a transaction may sit idle — its controller paused or cut off mid-commit —
    /// before the server ends its session.
    static let stalledTransaction = 5000

    /// Opens one connection: TLS as `sslmode` says, the store's schema first on the search path,
    /// every commit synchronous, named `golive` in `pg_stat_activity`.
    static func connector(_ address: PostgresAddress, password: String?) -> @Sendable () async throws -> PostgresConnection {
        { @Sendable in
            let tls: PostgresConnection.Configuration.TLS
            switch address.tls {
            case .disable:
                tls = .disable
            case .prefer, .require:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                let context = try NIOSSLContext(configuration: configuration)
                tls = address.tls == .prefer ? .prefer(context) : .require(context)
            case .verifyCA, .verifyFull:
                var configuration = TLSConfiguration.makeClientConfiguration()
                // Only the named root: not the system's store as well (libpq's sslrootcert is the whole trust).
                configuration.trustRoots = .file(address.rootCertificate ?? "")
                configuration.certificateVerification = address.tls == .verifyFull ? .fullVerification : .noHostnameVerification
                let context: NIOSSLContext
                do {
                    context = try NIOSSLContext(configuration: configuration)
                } catch {
                    throw PostgresStoreError(message: "the root certificate \(address.rootCertificate ?? "") cannot be used: \(error)")
                }
                tls = .require(context)
            }
            var configuration = PostgresConnection.Configuration(
                host: address.host, port: address.port, username: address.user, password: password, database: address.database,
                tls: tls)
            configuration.options.connectTimeout = .seconds(Int64(address.connectTimeout))
            configuration.options.additionalStartupParameters = [("application_name", "golive")]
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: PostgresConnection.quiet)
                do {
                    try await connection.rows("SET search_path = golive", [])
                    try await connection.rows("SET synchronous_commit = on", [])
                    // golive's transactions last milliseconds: one left open longer is a controller
                    // paused or cut off mid-commit, and the server ends it (and frees its row locks)
                    // rather than let it block a takeover for ever; a lock wait is bounded too.
                    try await connection.rows("SET idle_in_transaction_session_timeout = '\(Self.stalledTransaction)ms'", [])
                    try await connection.rows("SET lock_timeout = '30s'", [])
                } catch {
                    try? await connection.close()
                    throw error
                }
                return connection
            } catch let error as PSQLError {
                throw PostgresStoreError(error)
            }
        }
    }

    deinit {
        let feed = self.feed
        Task { await feed.stop() }
    }

    public var location: String { address.description }

    public var environmentLock: (any EnvironmentLock)? { PostgresLock(channel: writer) }

    public func journal(runID: String) async throws -> any Journal {
        let last = try await reader.withConnection { connection in
            try await connection.rows(StoreQueries.lastSequence, [.text(runID)]).first?.integer("seq")
        }
        let (writer, reader, identity, directory) = (writer, reader, storeID.withLock { $0 }, spillDirectory)
        let outage = GroupCommitJournal.OutagePolicy(
            retry: retry,
            isUnreachable: { error in (error as? PostgresStoreError)?.unreachable ?? !(error is StoreError) },
            committedThrough: {
                try await reader.withConnection { connection in
                    try await connection.rows(StoreQueries.lastSequence, [.text(runID)]).first?.integer("seq") ?? 0
                }
            },
            openSpill: { fence, acknowledged in
                try SpillJournal.create(
                    in: directory,
                    header: .init(
                        id: StoreTokens.random(), runID: runID, store: identity, fence: fence, acknowledged: acknowledged,
                        controller: LockRules.controller, created: Date()))
            })
        return GroupCommitJournal(runID: runID, lastSequence: last ?? 0, outage: outage) { events, fence in
            // Round trips are the cost here: the fence check carries the notification (sent only
            // if the commit is), and the rows go in one statement.
            let notify = "pg_notify('\(PostgresChangeFeed.channel)', id)"
            try await writer.transaction { connection in
                if let fence {
                    let current = try await connection.rows(
                        "SELECT fence, \(notify) FROM runs WHERE id = ?" + SQLDialect.postgres.forUpdate, [.text(runID)]
                    ).first?.text("fence")
                    guard current == fence else { throw FencedOut(runID: runID) }
                }
                try await connection.write(events.flatMap(TimelineProjection.writes(for:)))
                if fence == nil {
                    try await connection.rows("SELECT \(notify) FROM runs WHERE id = ?", [.text(runID)])
                }
            }
        }
    }

    public func record(plan: ResolvedPlan, playbookFile: String, environment: String) async throws {
        let row = try PlanRow(plan, playbookFile: playbookFile).write(environment: environment)
        try await writer.withConnection { connection in try await connection.write([row]) }
    }


    public func changeMark() async -> Int? { await feed.mark() }

    public func identity() async -> String? { try? await access().user }

    public func writeRefusal() async -> String? {
        do {
            let access = try await access()
            guard !access.missing.isEmpty else { return nil }
            return "the store's role \(access.user) may only read (it lacks \(access.missing.joined(separator: ", "))): "
                + "watch, runs, timeline and report work with it; running, recovering or unlocking needs an operator's role (docs/team.md, Roles)"
        } catch {
            return "the store's privileges cannot be read: \(error)"
        }
    }

    /// Who this login is, and the privileges a writing command needs that it lacks.
    private func access() async throws -> (user: String, missing: [String]) {
        let needed = [
            ("events", "INSERT"), ("runs", "INSERT"), ("runs", "UPDATE"), ("locks", "INSERT"), ("locks", "UPDATE"), ("locks", "DELETE"),
            ("step_results", "INSERT"), ("probe_results", "INSERT"), ("artifacts", "INSERT"), ("plans", "INSERT"), ("spills", "INSERT"),
        ]
        let columns = needed.enumerated().map { "has_table_privilege('golive.\($0.element.0)', '\($0.element.1)') AS p\($0.offset)" }
        return try await reader.withConnection { connection in
            let row = try await connection.rows("SELECT session_user AS who, " + columns.joined(separator: ", "), []).first
            let missing = needed.enumerated().filter { row?.bool("p\($0.offset)") != true }.map { "\($0.element.1) on golive.\($0.element.0)" }
            return (row?.text("who") ?? "?", missing)
        }
    }

    public func close() async {
        await feed.stop()
        await writer.close()
        await reader.close()
    }

    func write(_ rows: [RowWrite]) async throws {
        try await writer.transaction { connection in try await connection.write(rows) }
    }

    func writeReturning<T: Sendable>(_ sql: String, _ arguments: [StoreValue], _ transform: @escaping @Sendable (any StoreRow) -> T)
        async throws -> [T]
    {
        try await writer.withConnection { connection in try await connection.rows(sql, arguments).map(transform) }
    }

    func read<T: Sendable>(_ sql: String, _ arguments: [StoreValue], _ transform: @escaping @Sendable (any StoreRow) -> T) async throws -> [T] {
        try await reader.withConnection { connection in try await connection.rows(sql, arguments).map(transform) }
    }
}
