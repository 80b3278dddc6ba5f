import Foundation
import Playbook
import System

/// Opens connections to hosts. The engine never creates sockets itself: it is handed a transport.
public protocol Transport: Sendable {
    /// Connects to a host (host key verified, authenticated).
    ///
    /// - Throws: ``TransportError`` saying why (unreachable, host key, authentication).
    func connect(to host: InventoryHost) async throws -> any HostConnection
}

/// One open connection to a host, reused for every step the run sends to it.
public protocol HostConnection: Sendable {
    /// Runs a command through the remote shell.
    ///
    /// - Parameters:
    ///   - command: the command line.
    ///   - timeout: after this the remote command is stopped and the result says `timedOut`.
    ///   - output: called with output chunks as they arrive.
    /// - Throws: ``TransportError`` when the connection is lost; a non-zero exit is not an error.
    func run(_ command: String, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?) async throws -> CommandOutcome
    /// Runs a command through the remote shell that starts an escalated shell (`command` ends in
    /// `escalation.launcher`); once that shell has started (the password sent on stdin if it asked
    /// for one), it gets `script` on stdin, then `stdin`. Nothing of it is ever in an argument.
    ///
    /// - Returns: the outcome; ``CommandOutcome/escalationFailure`` says why the escalated shell never started.
    func run(
        _ command: String, escalation: Escalation, script: String, stdin: Data?, timeout: Duration?,
        output: (@Sendable (Bool, Data) -> Void)?
    ) async throws -> CommandOutcome
    /// Writes bytes to a remote file atomically with a mode.
    func upload(_ data: Data, to path: String, mode: Int) async throws
    /// Writes bytes to a temporary file beside `path` and returns its name; the engine moves it
    /// into place with a command of its own (behind the host lock's guard).
    func stage(_ data: Data, beside path: String) async throws -> String
    /// Closes the connection.
    func close() async
    /// How the connection was set up (host key, auth), for `ping` and the timeline.
    var summary: ConnectionSummary { get }
}

/// What a command did.
public struct CommandOutcome: Sendable, Hashable {
    /// Exit status; nil when killed or timed out.
    public var exitCode: Int?
    /// Signal name when killed by one (`KILL`); empty when the transport cannot tell which (OpenSSH).
    public var signal: String?
    /// True when the timeout stopped it.
    public var timedOut: Bool
    /// Captured standard output (bounded).
    public var stdout: Data
    /// Captured standard error (bounded).
    public var stderr: Data
    /// Bytes dropped by the bound.
    public var omitted: Int
    /// Wall time.
    public var duration: Duration
    /// Why the escalation did not start the command (an escalated command only).
    public var escalationFailure: Escalation.Failure?

    /// Creates an outcome.
    public init(
        exitCode: Int?, signal: String? = nil, timedOut: Bool = false, stdout: Data = Data(), stderr: Data = Data(),
        omitted: Int = 0, duration: Duration = .zero
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.stdout = stdout
        self.stderr = stderr
        self.omitted = omitted
        self.duration = duration
    }

    /// Exit code 0.
    public var succeeded: Bool { exitCode == 0 && !timedOut }
    /// Standard output as text.
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error as text.
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// How a connection was set up.
public struct ConnectionSummary: Sendable, Hashable {
    /// `address:port` dialled (or `via JUMP`).
    public var endpoint: String
    /// Host key type and fingerprint (`ED25519 SHA256:...`).
    public var hostKey: String
    /// Authentication method that worked.
    public var authMethod: String
    /// Connect + handshake + auth.
    public var setupTime: Duration
    /// True when the host key was just added to known_hosts on request.
    public var hostKeyAdded: Bool
    /// The login user.
    public var user: String
    /// Which SSH implementation connected (`libssh2`, `openssh`).
    public var transport: String
    /// Why this host got that transport, when it was not the default (`its key ~/.ssh/id_rsa is RSA`).
    public var transportReason: String?

    /// Creates a summary.
    public init(
        endpoint: String, hostKey: String, authMethod: String, setupTime: Duration, hostKeyAdded: Bool = false, user: String = "",
        transport: String = "libssh2", transportReason: String? = nil
    ) {
        self.endpoint = endpoint
        self.hostKey = hostKey
        self.authMethod = authMethod
        self.setupTime = setupTime
        self.hostKeyAdded = hostKeyAdded
        self.user = user
        self.transport = transport
        self.transportReason = transportReason
    }

    /// `openssh (its key ~/.ssh/id_rsa is RSA)`, or nil for the default transport chosen by default.
    public var transportNote: String? {
        guard transport != "libssh2" || transportReason != nil else { return nil }
        return transportReason.map { "\(transport) (\($0))" } ?? transport
    }
}

/// A connection-level failure.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// Why.
    public enum Kind: String, Sendable {
        case unreachable, hostKey = "host-key", authentication, connectionLost = "connection-lost", configuration, cancelled
        case transfer
    }

    /// Why.
    public var kind: Kind
    /// The inventory host.
    public var host: String
    /// The full message.
    public var message: String

    /// Creates an error.
    public init(kind: Kind, host: String, message: String) {
        self.kind = kind
        self.host = host
        self.message = message
    }

    public var description: String { message }
}
