import PostgresNIO

/// What went wrong talking to the PostgreSQL store, as the server or the connection said it
/// (PostgresNIO's own description hides the server's message).
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The server's SQLSTATE, when it answered.
    public var sqlState: String?

    /// Creates the error.
    public init(message: String, sqlState: String? = nil) {
        self.message = message
        self.sqlState = sqlState
    }

    init(_ error: PSQLError) {
        if let info = error.serverInfo {
            var text = info[.message] ?? "the server refused"
            if let detail = info[.detail] { text += " (\(detail))" }
            self.init(message: text, sqlState: info[.sqlState])
            return
        }
        let underlying = error.underlying.map { "\($0)" } ?? ""
        switch error.code {
        case .connectionError where underlying.contains("refused"):
            self.init(message: "connection refused (is PostgreSQL running and listening on that address and port?)")
        case .connectionError where underlying.lowercased().contains("timeout") || underlying.lowercased().contains("timed out"):
            self.init(message: "no answer within the connect timeout (connect_timeout in the URL)")
        case .connectionError where underlying.contains("resolve") || underlying.contains("NXDOMAIN") || underlying.contains("getaddrinfo"):
            self.init(message: "the host name cannot be resolved")
        case .authMechanismRequiresPassword:
            self.init(
                message: "the server asks for a password and none was given: set GOLIVE_STORE_PASSWORD or PGPASSWORD, or add a line to ~/.pgpass")
        case .sslUnsupported:
            self.init(message: "the server does not offer TLS, and sslmode=require asks for it")
        case .unsupportedAuthMechanism:
            self.init(message: "the server asks for a login method golive does not speak (use scram-sha-256, md5 or trust)")
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            self.init(message: "the connection to the store was lost (\(error.code))")
        default:
            self.init(message: underlying.isEmpty ? "\(error.code)" : "\(error.code): \(underlying)")
        }
    }

    public var description: String { message }

    /// A serialization failure or deadlock: the transaction may be tried again.
    var canRetry: Bool { sqlState == "40001" || sqlState == "40P01" }
}
