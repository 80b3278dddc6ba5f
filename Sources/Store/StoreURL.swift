import Foundation
import NIOSSL

/// Where the timeline is, as `--store` and `GOLIVE_STORE` name it: a file path (`PATH`,
/// `sqlite:PATH`) for the embedded SQLite store, or `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE`
/// (also `postgresql://`) for the PostgreSQL team store. A password never goes in the URL (it would
/// be shown wherever the store is named): it comes from ``PostgresCredentials``.
public enum StoreURL: Sendable, Hashable, CustomStringConvertible {
    /// The SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL database.
    case postgres(PostgresAddress)

    /// Reads `text`.
    ///
    /// - Throws: ``StoreError`` saying what is wrong: an unknown scheme, a password in the URL,
    ///   a port or an `sslmode` that is not one.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw StoreError(message: "store \(text): no file after sqlite:") }
            self = .sqlite(path: path)
        } else if text.lowercased().hasPrefix("postgres://") || text.lowercased().hasPrefix("postgresql://") {
            self = .postgres(try PostgresAddress(text, environment: environment))
        } else if ["postgres:", "postgresql:", "postgres/", "postgresql/"].contains(where: { text.lowercased().hasPrefix($0) }) {
            // A mistyped URL must not quietly become a file of one's own, beside the team's lock.
            throw StoreError(message: "store \(PostgresAddress.redacted(text)): not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE)")
        } else if let scheme = text.range(of: "://").map({ String(text[..<$0.lowerBound]) }), !scheme.contains("/") {
            throw StoreError(message: "store \(text): unknown kind of store '\(scheme)://' (a file path, sqlite:PATH or postgres://...)")
        } else {
            guard !text.isEmpty else { throw StoreError(message: "store: an empty path") }
            self = .sqlite(path: text)
        }
    }

    /// The store as messages name it (a PostgreSQL URL without any password).
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let address): address.description
        }
    }
}

/// A PostgreSQL database as a store URL names it, with libpq's defaults: user `$PGUSER` else the
/// login name, host `$PGHOST` else localhost, port `$PGPORT` else 5432, database `$PGDATABASE`
/// else the user's name, `sslmode` prefer.
public struct PostgresAddress: Sendable, Hashable, CustomStringConvertible {
    /// How TLS is used, as libpq's `sslmode` says.
    public enum TLSMode: String, Sendable, Hashable {
        /// Never.
        case disable
        /// When the server offers it (unverified), else in the clear.
        case prefer
        /// Always (the certificate is not verified, as libpq's `require` without a root certificate).
        case require
        /// Always, the server's certificate signed by the root certificate (`sslrootcert`).
        case verifyCA = "verify-ca"
        /// Always, the certificate signed by the root certificate and naming the host (its DNS
        /// name, or its IP address for an address).
        case verifyFull = "verify-full"

        /// Whether the server's certificate is checked.
        public var verifies: Bool { self == .verifyCA || self == .verifyFull }
    }

    /// The login.
    public var user: String
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The database.
    public var database: String
    /// TLS.
    public var tls: TLSMode
    /// Seconds to wait for a connection (`connect_timeout`).
    public var connectTimeout: Int
    /// The root certificate(s) a verified server's certificate must chain to (`sslrootcert`,
    /// else `$PGSSLROOTCERT`, else `~/.postgresql/root.crt` as libpq has it); used by verify-ca and verify-full.
    public var rootCertificate: String?

    init(_ text: String, environment: [String: String]) throws {
        guard let components = URLComponents(string: text), components.scheme != nil else {
            throw StoreError(message: "store \(Self.redacted(text)): not a URL")
        }
        if components.fragment != nil {
            throw StoreError(message: "store \(Self.redacted(text)): a store URL has no #fragment")
        }
        if components.password != nil || (components.user ?? "").contains(":") {
            throw Self.passwordRefused(text)
        }
        let login = environment["USER"] ?? NSUserName()
        user = components.user.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGUSER"] ?? login
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGHOST"] ?? "localhost"
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let explicit = components.port {
            port = explicit
        } else if let text = environment["PGPORT"], !text.isEmpty {
            guard let number = Int(text) else { throw StoreError(message: "PGPORT=\(text) is not a port") }
            port = number
        } else {
            port = 5432
        }
        guard (1...65535).contains(port) else { throw StoreError(message: "store \(Self.redacted(text)): port \(port) is not a port") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? (environment["PGDATABASE"] ?? user) : path
        tls = .prefer
        connectTimeout = 10
        var named: Set<String> = []
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            if ["sslmode", "sslrootcert", "connect_timeout", "user"].contains(item.name), !named.insert(item.name).inserted {
                throw StoreError(message: "store \(Self.redacted(text)): \(item.name) is given twice (which one was meant?)")
            }
            switch item.name {
            case "sslmode":
                if value == "allow" {
                    throw StoreError(
                        message: "store \(Self.redacted(text)): sslmode=allow is not supported (it falls back to the clear); use prefer, require, verify-ca or verify-full")
                }
                guard let mode = TLSMode(rawValue: value) else {
                    throw StoreError(
                        message: "store \(Self.redacted(text)): sslmode=\(value) is not one of disable, prefer, require, verify-ca, verify-full")
                }
                tls = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw StoreError(message: "store \(Self.redacted(text)): sslrootcert names no file") }
                rootCertificate = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0, seconds <= 3600 else {
                    throw StoreError(message: "store \(Self.redacted(text)): connect_timeout=\(value) is not a number of seconds (1 to 3600)")
                }
                connectTimeout = seconds
            case "user":
                guard !value.contains(":") else {
                    throw Self.passwordRefused(text)
                }
                user = value
            case let name where name.lowercased().contains("pass"):
                throw Self.passwordRefused(text)
            default:
                let name = item.name.count <= 32 && item.name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } ? "'\(item.name)'" : "(not shown)"
                throw StoreError(message: "store \(Self.redacted(text)): unknown parameter \(name) (known: sslmode, sslrootcert, connect_timeout, user)")
            }
        }
        if tls.verifies {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            let file = rootCertificate ?? environment["PGSSLROOTCERT"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.postgresql/root.crt"
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw StoreError(
                    message: "store \(Self.redacted(text)): sslmode=\(tls.rawValue) verifies the server against a root certificate, and \(file) "
                        + (FileManager.default.fileExists(atPath: file) ? "cannot be read" : "does not exist")
                        + " (name the CA's certificate with sslrootcert=PATH or PGSSLROOTCERT)")
            }
            // Read as the TLS library will: a file that holds no certificate is refused here, by name.
            let certificates = try? NIOSSLCertificate.fromPEMFile(file)
            guard let certificates, !certificates.isEmpty else {
                throw StoreError(
                    message: "store \(Self.redacted(text)): the root certificate file \(file) holds no PEM certificate the TLS library can read (it must hold only -----BEGIN CERTIFICATE----- blocks)")
            }
            rootCertificate = file
        } else if rootCertificate != nil {
            throw StoreError(message: "store \(Self.redacted(text)): sslrootcert is used only by sslmode=verify-ca or verify-full")
        }
    }

    /// Why a URL that holds a password is refused (without repeating it).
    static func passwordRefused(_ text: String) -> StoreError {
        StoreError(
            message: "store \(redacted(text)): a password does not go in the store URL (it would be shown wherever the store is named); "
                + "give it in GOLIVE_STORE_PASSWORD or PGPASSWORD, or in ~/.pgpass")
    }

    /// The database as a spill file names it (`host:port/database`): a spill is replayed into the
    /// database it was written for, whoever logs in to it.
    public var identity: String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(port)/\(database)"
    }

    /// The URL as messages show it: never a password.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        var text = "postgres://\(user)@\(shownHost):\(port)/\(database)"
        if tls != .prefer { text += "?sslmode=\(tls.rawValue)" }
        if tls.verifies, let rootCertificate { text += "&sslrootcert=\(rootCertificate)" }
        return text
    }

    /// `text` as messages may show it: the user's name without anything after a `:` (plain or
    /// percent-encoded), and the query's values hidden but for `sslmode` and `connect_timeout`
    /// (names that are not plain words hidden too); no fragment.
    static func redacted(_ text: String) -> String {
        var head = text
        var query: String?
        if let mark = text.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            head = String(text[..<mark])
            if text[mark] == "?" { query = String(text[text.index(after: mark)...]).split(separator: "#", maxSplits: 1).first.map(String.init) ?? "" }
        }
        if let start = head.range(of: "://"), let at = head.range(of: "@", options: .backwards, range: start.upperBound..<head.endIndex) {
            var user = String(head[start.upperBound..<at.lowerBound])
            if let colon = user.range(of: ":") ?? user.range(of: "%3a", options: .caseInsensitive) {
                user = String(user[..<colon.lowerBound]) + ":••••"
            }
            head = String(head[..<start.upperBound]) + user + String(head[at.lowerBound...])
        }
        guard let query else { return head }
        let shown = query.split(separator: "&").map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts.first ?? ""
            if ["sslmode", "connect_timeout", "sslrootcert"].contains(name) { return String(pair) }
            return name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) && !name.lowercased().contains("pass") ? name + "=••••" : "••••"
        }
        return head + "?" + shown.joined(separator: "&")
    }
}
