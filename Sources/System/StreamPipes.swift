internal import CGoliveSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A command's standard input, output and error as three pipes: the far ends handed to whoever
/// runs the command (a child process, an OpenSSH ControlMaster over its socket), the near ends
/// non-blocking and driven by the caller: input given while the command runs (an answer to what it
/// said), output read stream by stream, never merged.
///
/// Nothing blocks and nothing has a thread: ``exchange(_:)`` moves what can be moved now, and the
/// caller's loop decides when to look again (``pause(after:moved:)``). Not for use from two tasks at once.
public final class StreamPipes: @unchecked Sendable {
    /// The far ends (the command's stdin, stdout, stderr), until ``closeFarEnds()``.
    public private(set) var farEnds: [Int32]
    private var inputFD: Int32
    private var outputFD: Int32
    private var errorFD: Int32
    private var pending = Data()
    private var sent = 0
    private var endAfterPending = false
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)

    /// Makes the three pipes (every end close-on-exec).
    ///
    /// - Throws: ``ProcessError`` when a pipe cannot be made.
    public init() throws {
        _ = Pause.brokenPipesIgnored
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var fds: [Int32] = [-1, -1]
            guard golive_pipe_cloexec(&fds) == 0 else {
                let reason = String(cString: strerror(errno))
                for fd in pipes.joined() { close(fd) }
                buffer.deallocate()
                throw ProcessError(message: "pipe(): \(reason)")
            }
            pipes.append(fds)
        }
        farEnds = [pipes[0][0], pipes[1][1], pipes[2][1]]
        (inputFD, outputFD, errorFD) = (pipes[0][1], pipes[1][0], pipes[2][0])
        for fd in [inputFD, outputFD, errorFD] {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            // Linux's F_SETPIPE_SZ: a megabyte in flight, not 64 KiB, for a command's bulk output or input.
            _ = fcntl(fd, 1031, Int32(1 << 20))
        }
    }

    deinit {
        closeFarEnds()
        for fd in [inputFD, outputFD, errorFD] where fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    /// Closes this process's copies of the far ends, once the command holds its own: the output
    /// streams then end when the command's side closes them.
    public func closeFarEnds() {
        for fd in farEnds where fd >= 0 { close(fd) }
        farEnds = []
    }

    /// Queues bytes for the command's standard input.
    public func send(_ data: Data) {
        if sent == pending.count {
            pending = data
            sent = 0
        } else {
            pending.append(data)
        }
    }

    /// Ends the command's standard input once what is queued has been written.
    public func endInput() { endAfterPending = true }

    /// True once the standard input has been closed (queued bytes written, or the command stopped reading).
    public var inputEnded: Bool { inputFD < 0 }

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
                        // The command closed its input: the rest is not wanted.
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

    /// How long a polling loop sleeps next: at once after progress, doubling to `longest` while idle.
    public static func pause(after previous: Duration, moved: Bool, longest: Duration = .milliseconds(20)) -> Duration {
        moved ? .zero : min(max(previous * 2, .microseconds(500)), longest)
    }

    private func closeInput() {
        if inputFD >= 0 { close(inputFD) }
        inputFD = -1
    }
}
