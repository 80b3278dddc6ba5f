import Foundation
import System

/// One authenticated SSH connection to a host, reused for every command and transfer sent to it.
///
/// Calls may come from any task; they are carried out one at a time, in the order made, on the
/// transport's event-loop thread. Cancelling the calling task stops the command (TERM, then KILL
/// to its process group) and closes its channel.
public final class SSHConnection: Sendable {
    /// The host key, authentication method and address of this connection.
    public let info: SSHConnectionInfo
    /// The target this connection was made for.
    public let target: SSHTarget
    let core: SessionCore
    private let loop: EventLoop
    /// Jump connections this one runs through; kept alive as long as it is.
    let via: [SSHConnection]
    private let pump = TunnelPump()

    init(info: SSHConnectionInfo, target: SSHTarget, core: SessionCore, loop: EventLoop, via: [SSHConnection]) {
        self.info = info
        self.target = target
        self.core = core
        self.loop = loop
        self.via = via
    }

    /// Runs a command through the remote user's shell and waits for it to end.
    ///
    /// - Parameters:
    ///   - command: the command line, passed to the remote shell as is.
    ///   - stdin: bytes written to the command's standard input, followed by EOF.
    ///   - timeout: after this the remote process group gets TERM (KILL 3 s later) and the result
    ///     says `.timedOut`; nil waits for ever.
    ///   - captureLimit: bytes kept per stream in the result (first and last halves).
    ///   - output: called with each chunk as it arrives, on the event-loop thread.
    ///   - dialogue: the escalation `command` starts (`become`): stdin stays open until it has
    ///     started the escalated shell (the password sent if it asks), then gets the dialogue's script;
    ///     `stdin` is then unused (the dialogue's script carries it).
    /// - Returns: the termination and captured output; a non-zero exit is not an error.
    /// - Throws: `SSHError` when the channel cannot be opened or the connection drops.
    public func run(
        _ command: String, stdin: Data? = nil, dialogue: EscalationDialogue? = nil, timeout: Duration? = nil,
        captureLimit: Int = 1 << 20, output: OutputHandler? = nil
    ) async throws -> CommandResult {
        let operation = ExecOperation(
            command: command, stdin: stdin, dialogue: dialogue, timeout: timeout, captureLimit: captureLimit, output: output)
        return try await submit(operation) { operation.install($0) }
    }

    /// Uploads bytes to `path` atomically: written to a temporary name beside it, synced, given
    /// `mode`, then renamed over `path`, so readers see the old file or the whole new one.
    ///
    /// - Returns: the number of bytes written.
    /// - Throws: `SSHError` (`.sftpFailed` with the server's reason, `.localFile`, `.connectionLost`).
    @discardableResult
    public func upload(_ source: UploadSource, to path: String, mode: Int = 0o644, timeout: Duration? = nil)
        async throws -> Int
    {
        let temporary = Self.temporaryName(for: path)
        let operation = SFTPTransferOperation(
            direction: .upload(source: source, remotePath: temporary), timeout: timeout)
        let written = try await submit(operation) { operation.install($0) }
        let mode = String(mode, radix: 8)
        let finish = try await run(
            "chmod \(mode) \(ShellQuote.quote(temporary)) && mv -f \(ShellQuote.quote(temporary)) \(ShellQuote.quote(path))"
                + " || { rm -f \(ShellQuote.quote(temporary)); exit 1; }", timeout: timeout)
        guard finish.succeeded else {
            throw SSHError(
                kind: .sftpFailed, host: target.name, endpoint: target.endpoint, operation: .sftp,
                message: "moving the upload into place at \(path): "
                    + finish.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return written
    }

    /// Writes bytes over SFTP to a temporary name beside `path` (synced) and returns that name; the
    /// caller moves it into place (so that the move can run behind its own checks).
    ///
    /// - Throws: `SSHError` (`.sftpFailed` with the server's reason, `.localFile`, `.connectionLost`).
    public func stage(_ source: UploadSource, beside path: String, timeout: Duration? = nil) async throws -> String {
        let temporary = Self.temporaryName(for: path)
        let operation = SFTPTransferOperation(direction: .upload(source: source, remotePath: temporary), timeout: timeout)
        _ = try await submit(operation) { operation.install($0) }
        return temporary
    }

    /// Downloads the remote file at `path` to `localPath` (created or truncated).
    ///
    /// - Returns: the number of bytes read.
    /// - Throws: `SSHError`.
    @discardableResult
    public func download(_ path: String, to localPath: String, timeout: Duration? = nil) async throws -> Int {
        let operation = SFTPTransferOperation(
            direction: .download(remotePath: path, localPath: localPath), timeout: timeout)
        return try await submit(operation) { operation.install($0) }
    }

    /// Closes the connection (SSH disconnect). Later calls fail with `.closed`. Safe to call twice.
    public func close() async {
        let operation = CloseOperation()
        _ = try? await submit(operation) { operation.install($0) }
    }

    /// Opens a TCP stream through this host to `host:port` and returns a socket bridged to it.
    ///
    /// The first tunnel turns this connection into a dedicated carrier: its only operation from then on
    /// is the pump that moves the tunnels' bytes.
    func openTunnel(to host: String, port: Int) async throws -> Int32 {
        let result = OneShot<Int32>()
        return try await withCheckedThrowingContinuation { continuation in
            loop.submit { [core, pump] in
                result.install(continuation)
                pump.request(TunnelPump.Request(host: host, port: port, result: result))
                if !core.pumpStarted {
                    core.pumpStarted = true
                    core.enqueue(pump)
                }
                core.runSoon = true
            }
        }
    }

    private func submit<Value: Sendable>(
        _ operation: LoopOperation, install: @escaping @Sendable (CheckedContinuation<Value, any Error>) -> Void
    ) async throws -> Value {
        let core = self.core
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                loop.submit {
                    install(continuation)
                    core.enqueue(operation)
                }
            }
        } onCancel: { [loop] in
            loop.submit { core.cancel(operation) }
        }
    }

    /// A hidden temporary name beside `path` (`.NAME.golive-RANDOM`) for an upload written then renamed into place.
    public static func temporaryName(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let name = ".\(url.lastPathComponent).golive-\(UInt32.random(in: 0...UInt32.max))"
        return directory == "/" ? "/\(name)" : "\(directory)/\(name)"
    }
}

extension SSHConnection {
    /// False once the connection is known to be closed or lost (checked without a round trip).
    var isUsable: Bool { core.isUsableSnapshot }
}
