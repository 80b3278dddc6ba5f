internal import CLibSSH2
import Foundation

/// Copies a local file or buffer to a remote path, or a remote file to a local path, over the
/// connection's SFTP channel (opened once and reused).
final class SFTPTransferOperation: LoopOperation, @unchecked Sendable {
    /// Where the bytes come from and go to.
    enum Direction {
        case upload(source: UploadSource, remotePath: String)
        case download(remotePath: String, localPath: String)
    }

    private enum State { case initSFTP, open, transfer, fsync, close }

    private let direction: Direction
    private let result = OneShot<Int>()
    private var state = State.initSFTP
    private var handle: OpaquePointer?
    private var local: FileHandle?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
    private var bufferFill = 0
    private var bufferSent = 0
    private var sourceOffset = 0
    private var sourceDone = false
    private var transferred = 0
    private var pendingError: SSHError?

    init(direction: Direction, timeout: Duration?) {
        self.direction = direction
        super.init()
        if let timeout { deadline = ContinuousClock.now.advanced(by: timeout) }
    }

    deinit {
        buffer.deallocate()
        try? local?.close()
    }

    func install(_ continuation: CheckedContinuation<Int, any Error>) { result.install(continuation) }

    override func fail(_ error: SSHError) { result.fail(error) }

    private var remotePath: String {
        switch direction {
        case .upload(_, let path), .download(let path, _): path
        }
    }

    private func sftpError(_ core: SessionCore, _ what: String) -> SSHError {
        var error = core.failure(0, .sftp, kind: .sftpFailed)
        if error.kind == .connectionLost { return error }
        if let sftp = core.sftp, error.code == LIBSSH2_ERROR_SFTP_PROTOCOL {
            let status = libssh2_sftp_last_error(sftp)
            let meaning: String =
                switch status {
                case LIBSSH2_FX_NO_SUCH_FILE: "no such file or directory"
                case LIBSSH2_FX_PERMISSION_DENIED: "permission denied"
                case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: "no space left on the file system"
                case LIBSSH2_FX_QUOTA_EXCEEDED: "quota exceeded"
                case LIBSSH2_FX_NO_SUCH_PATH: "no such path"
                default: "SFTP status \(status)"
                }
            error.message = meaning
        }
        error.message = "\(what) \(remotePath): \(error.message)"
        return error
    }

    override func progress(_ core: SessionCore) -> OperationProgress {
        guard let session = core.session else {
            result.fail(core.error(.closed, .sftp, message: "connection closed"))
            return .finished
        }
        while true {
            switch state {
            case .initSFTP:
                if core.sftp == nil {
                    guard let sftp = libssh2_sftp_init(session) else {
                        if libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN { return .blocked }
                        return finish(core, sftpError(core, "starting SFTP for"))
                    }
                    core.sftp = sftp
                }
                if let error = openLocal(core) { return finish(core, error) }
                state = .open
            case .open:
                guard let sftp = core.sftp else { return .finished }
                let flags: UInt
                switch direction {
                case .upload: flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC)
                case .download: flags = UInt(LIBSSH2_FXF_READ)
                }
                guard let opened = golive_ssh2_sftp_open(sftp, remotePath, flags, 0o600) else {
                    if libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN { return .blocked }
                    return finish(core, sftpError(core, "opening"))
                }
                handle = opened
                state = .transfer
            case .transfer:
                guard let handle else { return .finished }
                switch direction {
                case .upload(let source, _):
                    if bufferSent == bufferFill {
                        if sourceDone {
                            state = .fsync
                            continue
                        }
                        if let error = refill(core, source) {
                            pendingError = error
                            state = .close
                            continue
                        }
                        continue
                    }
                    let base = buffer.baseAddress?.advanced(by: bufferSent).assumingMemoryBound(to: CChar.self)
                    let rc = libssh2_sftp_write(handle, base, bufferFill - bufferSent)
                    if rc == Int(LIBSSH2_ERROR_EAGAIN) { return .blocked }
                    if rc < 0 {
                        pendingError = sftpError(core, "writing")
                        if pendingError?.kind == .connectionLost { return finish(core, pendingError) }
                        state = .close
                        continue
                    }
                    bufferSent += rc
                    transferred += rc
                case .download:
                    let base = buffer.baseAddress?.assumingMemoryBound(to: CChar.self)
                    let rc = libssh2_sftp_read(handle, base, buffer.count)
                    if rc == Int(LIBSSH2_ERROR_EAGAIN) { return .blocked }
                    if rc < 0 {
                        pendingError = sftpError(core, "reading")
                        if pendingError?.kind == .connectionLost { return finish(core, pendingError) }
                        state = .close
                        continue
                    }
                    if rc == 0 {
                        state = .close
                        continue
                    }
                    do {
                        try local?.write(contentsOf: Data(UnsafeRawBufferPointer(rebasing: buffer[0..<rc])))
                    } catch {
                        pendingError = core.error(.localFile, .sftp, message: "writing the local file: \(error)")
                        state = .close
                        continue
                    }
                    transferred += rc
                }
            case .fsync:
                guard let handle else { return .finished }
                let rc = libssh2_sftp_fsync(handle)
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                // A server without fsync@openssh.com answers "unsupported": the rename still makes the file
                // appear whole, only not crash-durable; anything else is a real failure.
                if rc < 0, let sftp = core.sftp, libssh2_sftp_last_error(sftp) != LIBSSH2_FX_OP_UNSUPPORTED {
                    pendingError = sftpError(core, "syncing")
                }
                state = .close
            case .close:
                guard let handle else { return .finished }
                let rc = golive_ssh2_sftp_close(handle)
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                self.handle = nil
                if rc < 0 && pendingError == nil { pendingError = sftpError(core, "closing") }
                return finish(core, pendingError)
            }
        }
    }

    private func openLocal(_ core: SessionCore) -> SSHError? {
        do {
            switch direction {
            case .upload(.file(let path), _):
                local = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            case .upload(.data, _):
                break
            case .download(_, let path):
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    return core.error(.localFile, .sftp, message: "cannot create \(path)")
                }
                local = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            }
            return nil
        } catch {
            return core.error(.localFile, .sftp, message: "cannot open the local file: \(error)")
        }
    }

    private func refill(_ core: SessionCore, _ source: UploadSource) -> SSHError? {
        bufferSent = 0
        bufferFill = 0
        let chunk: Data
        switch source {
        case .data(let data):
            chunk = data.dropFirst(sourceOffset).prefix(buffer.count)
        case .file(let path):
            do {
                chunk = try local?.read(upToCount: buffer.count) ?? Data()
            } catch {
                return core.error(.localFile, .sftp, message: "reading \(path): \(error)")
            }
        }
        if chunk.isEmpty {
            sourceDone = true
            return nil
        }
        chunk.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chunk.count]))
        bufferFill = chunk.count
        sourceOffset += chunk.count
        return nil
    }

    private func finish(_ core: SessionCore, _ error: SSHError?) -> OperationProgress {
        if let error {
            result.fail(error)
            if error.kind == .connectionLost { core.markBroken(error) }
        } else {
            result.succeed(transferred)
        }
        return .finished
    }
}

/// The bytes of an upload.
public enum UploadSource: Sendable, Hashable {
    /// A local file, streamed in chunks.
    case file(String)
    /// Bytes in memory (a rendered template, for example).
    case data(Data)
}
