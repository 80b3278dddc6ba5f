internal import CSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process in a process group of its own, with its standard input, output and error on
/// three non-blocking pipes that the caller drives: input given while it runs (an answer to what it
/// said), output read stream by stream, never merged.
///
/// Nothing blocks and nothing has a thread: ``exchange(_:)`` moves what can be moved now, and the
/// caller's loop decides when to look again (``pause(after:)``). Not for use from two tasks at once.
public final class PipedProcess: @unchecked Sendable {
    /// The child's pid (also its process group's id).
    public let pid: Int32
    private var inputFD: Int32
    private var outputFD: Int32
    private var errorFD: Int32
    private var pending = Data()
    private var sent = 0
    private var endAfterPending = false
    private var status: Int32?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)

    /// Starts `executable` with `arguments`, in a new process group, with this process's environment
    /// less `unsetting`, plus `environment`.
    ///
    /// - Throws: ``ProcessError`` when the pipes or the process cannot be made.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], unsetting: Set<String> = []) throws {
        _ = Self.ignoreBrokenPipes
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var fds: [Int32] = [-1, -1]
            // Close-on-exec: a process spawned meanwhile by another task must not inherit these ends.
            guard golive_pipe_cloexec(&fds) == 0 else {
                let reason = String(cString: strerror(errno))
                for fd in pipes.joined() { close(fd) }
                buffer.deallocate()
                throw ProcessError(message: "pipe(): \(reason)")
            }
            pipes.append(fds)
        }
        let (input, output, errors) = (pipes[0], pipes[1], pipes[2])
        do {
            pid = try ChildProcess.spawnGroupLeader(
                executable, arguments, stdin: input[0], output: output[1], errors: errors[1],
                closing: [input[1], errors[0], output[0]], environment: environment, unsetting: unsetting)
        } catch {
            for fd in pipes.joined() { close(fd) }
            buffer.deallocate()
            throw error
        }
        close(input[0])
        close(output[1])
        close(errors[1])
        (inputFD, outputFD, errorFD) = (input[1], output[0], errors[0])
        for fd in [inputFD, outputFD, errorFD] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        for fd in [inputFD, outputFD, errorFD] where fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    /// Queues bytes for the child's standard input.
    public func send(_ data: Data) {
        if sent == pending.count {
            pending = data
            sent = 0
        } else {
            pending.append(data)
        }
    }

    /// Ends the child's standard input once what is queued has been written.
    public func endInput() { endAfterPending = true }

    /// True once the standard input has been closed (queued bytes written, or the child stopped reading).
    public var inputEnded: Bool { inputFD < 0 }

    /// Bytes queued and not yet written.
    public var unsent: Int { pending.count - sent }

    /// Writes what the input pipe takes now and reads what the output pipes hold, handing each chunk
    /// to `receive` (`true` for standard output). Returns true when anything moved.
    public func exchange(_ receive: (_ stdout: Bool, _ data: Data) -> Void) -> Bool {
        var moved = false
        if inputFD >= 0 {
            while sent < pending.count {
                let written = pending.withUnsafeBytes {
                    write(inputFD, $0.baseAddress?.advanced(by: sent), min($0.count - sent, 64 * 1024))
                }
                if written > 0 {
                    sent += written
                    moved = true
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    if written < 0 && errno != EAGAIN {
                        // The child closed its input: the rest is not wanted.
                        pending = Data()
                        sent = 0
                        closeInput()
                    }
                    break
                }
            }
            if sent == pending.count && endAfterPending { closeInput() }
        }
        for (isOutput, fd) in [(true, outputFD), (false, errorFD)] where fd >= 0 {
            for _ in 0..<16 {
                let count = read(fd, buffer.baseAddress, buffer.count)
                if count > 0 {
                    receive(isOutput, Data(UnsafeRawBufferPointer(rebasing: buffer[0..<count])))
                    moved = true
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    if count == 0 {
                        // End of that stream: every writer is gone.
                        close(fd)
                        if isOutput { outputFD = -1 } else { errorFD = -1 }
                    }
                    break
                }
            }
        }
        return moved
    }

    /// True once both output streams have ended.
    public var outputEnded: Bool { outputFD < 0 && errorFD < 0 }

    /// The exit code (128 + the signal when killed) once the child has exited, else nil.
    ///
    /// - Throws: ``ProcessError`` when the child was reaped elsewhere (its status is unknown).
    public func exitStatus() throws -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, WNOHANG)
        if reaped < 0 && errno == ECHILD {
            throw ProcessError(message: "pid \(pid) was reaped elsewhere: its exit status is unknown")
        }
        guard reaped == pid else { return nil }
        status = ChildProcess.exitCode(raw)
        return status
    }

    /// Sends a signal to the child's process group (while it has not been reaped).
    public func signalGroup(_ number: Int32) {
        if status == nil { kill(-pid, number) }
    }

    /// How long a polling loop sleeps next: at once after progress, doubling to 20 ms while idle.
    public static func pause(after previous: Duration, moved: Bool) -> Duration {
        moved ? .zero : min(max(previous * 2, .milliseconds(1)), .milliseconds(20))
    }

    private func closeInput() {
        if inputFD >= 0 { close(inputFD) }
        inputFD = -1
    }

    /// SIGPIPE ignored, once: a write to a closed pipe then fails with EPIPE instead.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}
