import PostgresNIO

/// What went wrong talking to the PostgreSQL store, as the server or the connection said it
/// (PostgresNIO's own description hides the server's message).
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The server's SQLSTATE, when it answered.
    public var sqlState: String?
    /// The store could not be reached (refused, lost, shutting down, unanswered): it may come
    /// back, and the same statement may be tried again then.
    public var unreachable: Bool

    /// Creates the error.
    public init(message: String, sqlState: String? = nil, unreachable: Bool = false) {
        self.message = message
        self.sqlState = sqlState
        self.unreachable = unreachable || (sqlState.map(Self.isUnreachable) ?? false)
    }

    /// Connection exceptions (class 08), an administrator's or a crash's shutdown, a server
    /// starting up or shutting down.
    static func isUnreachable(_ state: String) -> Bool { state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) }

    init(_ error: PSQLError) {
        if let info = error.serverInfo {
            var text = info[.message] ?? "the server refused"
            if let detail = info[.detail] { text += " (\(detail))" }
            self.init(message: text, sqlState: info[.sqlState])
            return
        }
        let underlying = error.underlying.map { "\($0)" } ?? ""
        switch error.code {
        case .connectionError where underlying.contains("failedToValidateHostname"):
            self.init(
                message: "the server's certificate does not name the host in the store URL (sslmode=verify-full): connect by a name "
                    + "(or address) its certificate carries, or use verify-ca")
        case .connectionError where underlying.uppercased().contains("CERTIFICATE_VERIFY_FAILED") || underlying.contains("certificate verify failed"):
            self.init(
                message: "the server's certificate is not signed by the root certificate golive was told to trust (sslrootcert): "
                    + "refused, nothing was sent to it")
        case .connectionError where underlying.contains("refused"):
            self.init(message: "connection refused (is PostgreSQL running and listening on that address and port?)", unreachable: true)
        case .connectionError where underlying.lowercased().contains("timeout") || underlying.lowercased().contains("timed out"):
            self.init(message: "no answer within the connect timeout (connect_timeout in the URL)", unreachable: true)
        case .connectionError where underlying.contains("resolve") || underlying.contains("NXDOMAIN") || underlying.contains("getaddrinfo"):
            self.init(message: "the host name cannot be resolved", unreachable: true)
        case .authMechanismRequiresPassword:
            self.init(
                message: "the server asks for a password and none was given: set GOLIVE_STORE_PASSWORD or PGPASSWORD, or add a line to ~/.pgpass")
        case .sslUnsupported:
            self.init(message: "the server does not offer TLS, and the URL's sslmode asks for it")
        case .unsupportedAuthMechanism:
            self.init(message: "the server asks for a login method golive does not speak (use scram-sha-256, md5 or trust)")
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            self.init(message: "the connection to the store was lost (\(error.code))", unreachable: true)
        case .connectionError:
            self.init(message: underlying.isEmpty ? "\(error.code)" : "\(error.code): \(underlying)", unreachable: true)
        default:
            self.init(message: underlying.isEmpty ? "\(error.code)" : "\(error.code): \(underlying)")
        }
    }

    public var description: String { message }

    /// A serialization failure or deadlock: the transaction may be tried again.
    var canRetry: Bool { sqlState == "40001" || sqlState == "40P01" }
}
