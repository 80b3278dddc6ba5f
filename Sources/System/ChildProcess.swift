import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn` and reaped with `waitpid`.
///
/// Foundation's `Process` can hang in `waitUntilExit` when many are used at once from concurrent
/// tests; this type owns exactly one pid and nothing else, so it never reaps (or waits on) a process
/// it did not start.
public final class ChildProcess: @unchecked Sendable {
    /// The child's process id.
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - stdout: a file the child's standard output is appended to (default: /dev/null).
    ///   - stderr: a file the child's standard error is appended to (default: /dev/null).
    ///   - environment: extra variables on top of this process's environment.
    /// - Throws: ``ProcessError`` when the spawn fails.
    public init(
        _ executable: String, _ arguments: [String], stdout: String? = nil, stderr: String? = nil,
        environment: [String: String] = [:], newSession: Bool = false
    ) throws {
        pid = try Self.spawn(
            executable, arguments, stdoutPath: stdout ?? "/dev/null", stderrPath: stderr ?? "/dev/null",
            pipeFD: nil, environment: environment, newSession: newSession)
    }

    init(pid: pid_t) { self.pid = pid }

    /// Sends a signal to the child (only while it has not been reaped).
    public func signal(_ number: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { _ = kill(pid, number) }
    }

    /// True until the child has exited and been reaped.
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if status != nil { return false }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid {
            status = raw
            return false
        }
        return true
    }

    /// How the child ended, once it has been reaped: its exit code, or the signal that killed it.
    public var ending: (exitCode: Int32?, signal: Int32?)? {
        lock.lock()
        defer { lock.unlock() }
        guard let status else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? ((status >> 8) & 0xff, nil) : (nil, signal)
    }

    /// Waits for the child to exit and returns its exit code (128 + signal when killed).
    @discardableResult
    public func wait() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if status == nil {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            status = raw
        }
        return Self.exitCode(status ?? 0)
    }

    /// Runs a program to completion and returns its exit code and combined stdout+stderr.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], unsetting: Set<String> = []
    ) throws
        -> (status: Int32, output: String)
    {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ProcessError(message: "pipe(): \(String(cString: strerror(errno)))") }
        let child: ChildProcess
        do {
            child = ChildProcess(
                pid: try spawn(
                    executable, arguments, stdoutPath: nil, stderrPath: nil, pipeFD: (fds[0], fds[1]),
                    environment: environment, unsetting: unsetting, newSession: false))
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        close(fds[0])
        let status = child.wait()
        return (status, String(decoding: data, as: UTF8.self))
    }

    /// Waits for an unrelated pid to disappear (bounded); true when it did.
    public static func waitForExit(of pid: pid_t, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            // Reap it if it is our child (a zombie still answers kill(pid, 0)).
            if waitpid(pid, &status, WNOHANG) == pid { return true }
            if kill(pid, 0) != 0 && errno == ESRCH { return true }
            if isZombie(pid) { return true }
            usleep(10_000)
        }
        return false
    }

    /// True when the process has exited but not been reaped (its parent is gone or busy).
    public static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Starts a process in a new process group (its pid is the group's id) with `stdin` as its
    /// standard input and `output` as its standard output and error; `closing` are closed in the child.
    static func spawnGroupLeader(
        _ executable: String, _ arguments: [String], stdin: Int32, output: Int32, closing: [Int32], environment: [String: String],
        unsetting: Set<String> = []
    ) throws -> pid_t {
        try spawn(
            executable, arguments, stdoutPath: nil, stderrPath: nil, pipeFD: (closing.last ?? -1, output),
            environment: environment, unsetting: unsetting, newSession: false, stdinFD: stdin, closing: closing, groupLeader: true)
    }

    static func exitCode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    static func spawn(
        _ executable: String, _ arguments: [String], stdoutPath: String?, stderrPath: String?,
        pipeFD: (read: Int32, write: Int32)?, environment: [String: String], unsetting: Set<String> = [], newSession: Bool,
        stdinFD: Int32? = nil, closing: [Int32] = [], groupLeader: Bool = false, stderrFD: Int32? = nil
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdinFD {
            posix_spawn_file_actions_adddup2(&actions, stdinFD, 0)
            posix_spawn_file_actions_addclose(&actions, stdinFD)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if let pipeFD {
            posix_spawn_file_actions_adddup2(&actions, pipeFD.write, 1)
            posix_spawn_file_actions_adddup2(&actions, stderrFD ?? pipeFD.write, 2)
            for fd in Set([pipeFD.read, pipeFD.write, stderrFD ?? -1] + closing) where fd >= 0 { posix_spawn_file_actions_addclose(&actions, fd) }
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        // Nothing of this process reaches the child but its 0, 1 and 2: not the SSH sockets, not the
        // store's file, not another child's pipes.
        SpawnActions.closeFromThree(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A fresh signal mask and default handlers, so the child is not deaf to TERM/INT.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // POSIX_SPAWN_SETSID (glibc 2.26+): a daemon that outlives this process and its terminal.
        let setsid: Int32 = newSession ? 0x80 : 0
        let group: Int32 = groupLeader ? Int32(POSIX_SPAWN_SETPGROUP) : 0
        if groupLeader { posix_spawnattr_setpgroup(&attributes, 0) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | setsid | group))

        var merged = ProcessInfo.processInfo.environment
        for key in unsetting { merged[key] = nil }
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw ProcessError(message: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        return pid
    }
}
