internal import CGoliveSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process run to completion from async code without a thread of its own: its pipes are
/// non-blocking and polled, and it is reaped with `waitpid(WNOHANG)` between short sleeps, so a
/// hundred local steps cost a hundred pids, not a hundred threads.
///
/// The child runs in a process group of its own: a timeout or a cancelled task stops the whole
/// group (SIGTERM, then SIGKILL after `grace`), children included.
public enum AsyncProcess {
    /// How a process ended.
    public struct Result: Sendable {
        /// The exit code (128 + the signal when killed).
        public var status: Int32
        /// Standard output and standard error, interleaved as written, bounded (see ``OutputCapture``).
        public var output: Data
        /// Bytes of output dropped by the bound.
        public var omitted: Int
        /// The timeout stopped it.
        public var timedOut: Bool
        /// The output as text (invalid UTF-8 replaced).
        public var text: String { String(decoding: output, as: UTF8.self) }
    }

    /// Runs `executable` with `arguments`, writes `stdin` to it, and returns when it has exited
    /// (output a background child writes after that is not waited for).
    ///
    /// - Parameters:
    ///   - timeout: stops the process group when reached (``Result/timedOut``).
    ///   - stopOnCancel: a cancelled task stops the process group too (else the child runs on to its end).
    ///   - outputLimit: bytes of output kept (the first and last halves).
    ///   - unsetting: variables of this process's environment the child does not get.
    ///   - grace: how long a stopped group gets between SIGTERM and SIGKILL.
    /// - Throws: ``ProcessError`` when the pipes or the process cannot be made, or the child is
    ///   reaped by someone else (its status is then unknown).
    public static func run(
        _ executable: String, _ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:],
        unsetting: Set<String> = [], timeout: Duration? = nil, stopOnCancel: Bool = true, outputLimit: Int = 1 << 20, grace: Duration = .seconds(2)
    ) async throws -> Result {
        // A child that exits before reading its input must not kill this process with SIGPIPE.
        _ = Pause.brokenPipesIgnored
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        // Close-on-exec: a process spawned meanwhile by another task must not inherit these ends
        // (the child's own copies, made by dup2, are inheritable as they must be).
        guard golive_pipe_cloexec(&input) == 0 else { throw ProcessError(message: "pipe(): \(String(cString: strerror(errno)))") }
        guard golive_pipe_cloexec(&output) == 0 else {
            close(input[0])
            close(input[1])
            throw ProcessError(message: "pipe(): \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            pid = try ChildProcess.spawnGroupLeader(
                executable, arguments, stdin: input[0], output: output[1], closing: [input[1], output[0]], environment: environment,
                unsetting: unsetting)
        } catch {
            for fd in input + output { close(fd) }
            throw error
        }
        close(input[0])
        close(output[1])
        var writeFD: Int32 = input[1]
        let readFD = output[0]
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        defer {
            if writeFD >= 0 { close(writeFD) }
            close(readFD)
        }
        var pending = stdin
        var capture = OutputCapture(limit: outputLimit)
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
        var stopAt: ContinuousClock.Instant?
        var killAt: ContinuousClock.Instant?
        var timedOut = false
        var pause = Duration.milliseconds(1)

        /// Reads what is there (at most `limit` reads); true when something was read.
        func drain(limit: Int = 64) -> Bool {
            var any = false
            for _ in 0..<limit {
                let count = read(readFD, &buffer, buffer.count)
                if count > 0 {
                    capture.append(Data(buffer[0..<count]))
                    any = true
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return any
                }
            }
            return any
        }

        while true {
            var progressed = false
            if writeFD >= 0 {
                if pending.isEmpty {
                    close(writeFD)
                    writeFD = -1
                } else {
                    let written = pending.withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
                    if written > 0 {
                        pending = pending.dropFirst(written)
                        progressed = true
                        if pending.isEmpty {
                            // End of input at once: a command reading its stdin sees it end.
                            close(writeFD)
                            writeFD = -1
                        }
                    } else if written < 0 && errno != EAGAIN && errno != EINTR {
                        // The child closed its stdin: the rest is not wanted.
                        close(writeFD)
                        writeFD = -1
                    }
                }
            }
            if drain() { progressed = true }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped < 0 && errno == ECHILD {
                throw ProcessError(message: "\(executable) (pid \(pid)) was reaped elsewhere: its exit status is unknown")
            }
            if reaped == pid {
                // Stopped (timeout, cancel): what is left of its group goes too, even what ignored SIGTERM.
                if stopAt != nil { kill(-pid, SIGKILL) }
                // Whatever it wrote before exiting; a background child keeping the pipe open is not waited for.
                _ = drain()
                return Result(status: ChildProcess.exitCode(raw), output: capture.data, omitted: capture.omitted, timedOut: timedOut)
            }
            let now = ContinuousClock.now
            let cancelled = stopOnCancel && Task.isCancelled
            if stopAt == nil, cancelled || deadline.map({ now >= $0 }) == true {
                timedOut = !cancelled
                stopAt = now
                killAt = now.advanced(by: grace)
                kill(-pid, SIGTERM)
            } else if let due = killAt, now >= due {
                kill(-pid, SIGKILL)
                killAt = nil
            }
            if progressed {
                pause = .milliseconds(1)
                await Task.yield()
            } else {
                await Pause.uncancelled(pause)
                pause = min(pause * 2, .milliseconds(20))
            }
        }
    }
}
