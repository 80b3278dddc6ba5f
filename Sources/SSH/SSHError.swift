import Foundation

/// A failure of the SSH transport: which host, which operation, and the library's own words.
///
/// Printed as `web2 (10.0.0.12:2222): host key verification: key mismatch ...`.
public struct SSHError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for callers that react differently (exit codes, retries).
    public enum Kind: String, Sendable, Equatable {
        /// The name could not be resolved to an address.
        case resolveFailed
        /// The TCP connection was refused, unreachable, or did not complete in time.
        case connectFailed
        /// A connect or handshake did not finish within the connect timeout.
        case connectTimedOut
        /// The SSH handshake failed (protocol, algorithms).
        case handshakeFailed
        /// The host's key is not in any known_hosts file.
        case hostKeyUnknown
        /// known_hosts holds a different key of the same type for this host.
        case hostKeyMismatch
        /// The host's key is marked `@revoked` in known_hosts.
        case hostKeyRevoked
        /// Every authentication method was refused.
        case authenticationFailed
        /// The client key cannot be used with this libssh2 (RSA needs rsa-sha2, which 1.10 lacks).
        case unsupportedKey
        /// The connection dropped, or stopped answering (keepalive), while in use.
        case connectionLost
        /// A channel could not be opened or used.
        case channelFailed
        /// An SFTP operation failed.
        case sftpFailed
        /// A local file could not be read or written.
        case localFile
        /// The operation was cancelled by its task.
        case cancelled
        /// The connection was closed by this side.
        case closed
    }

    /// The step of the protocol that failed, for the message.
    public enum Operation: String, Sendable, Equatable {
        case resolve = "name resolution"
        case connect = "connect"
        case handshake = "handshake"
        case hostKey = "host key verification"
        case authentication = "authentication"
        case exec = "exec"
        case sftp = "sftp"
        case tunnel = "jump host tunnel"
        case keepalive = "keepalive"
    }

    /// What went wrong.
    public var kind: Kind
    /// The host's name as the user knows it (inventory name).
    public var host: String
    /// `address:port` that was dialled.
    public var endpoint: String
    /// The operation that failed.
    public var operation: Operation
    /// libssh2's or the system's error code, 0 when there is none.
    public var code: Int32
    /// The explanation, in libssh2's or the system's words where they exist.
    public var message: String

    /// Creates an error.
    public init(
        kind: Kind, host: String, endpoint: String, operation: Operation, code: Int32 = 0, message: String
    ) {
        self.kind = kind
        self.host = host
        self.endpoint = endpoint
        self.operation = operation
        self.code = code
        self.message = message
    }

    public var description: String {
        "\(host) (\(endpoint)): \(operation.rawValue): \(message)"
    }
}
