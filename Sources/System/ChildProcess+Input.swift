internal import CGoliveSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension ChildProcess {
    /// Starts `executable` in a process group of its own with its standard input on a pipe whose
    /// write end is returned (close it to end the child's input), output and errors appended to files;
    /// the variables in `unsetting` are not passed on.
    ///
    /// - Throws: ``ProcessError`` when the pipe or the process cannot be made.
    public static func withInput(
        _ executable: String, _ arguments: [String], stdout: String, stderr: String, unsetting: Set<String> = []
    ) throws
        -> (process: ChildProcess, input: Int32)
    {
        _ = Pause.brokenPipesIgnored
        var fds: [Int32] = [-1, -1]
        guard golive_pipe_cloexec(&fds) == 0 else { throw ProcessError(message: "pipe(): \(String(cString: strerror(errno)))") }
        do {
            let pid = try spawn(
                executable, arguments, stdoutPath: stdout, stderrPath: stderr, pipeFD: nil, environment: [:], unsetting: unsetting, newSession: false,
                stdinFD: fds[0], closing: [fds[1]], groupLeader: true)
            close(fds[0])
            return (ChildProcess(pid: pid), fds[1])
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
    }

    /// Starts `executable` in a process group of its own (its pid is the group's id) with its
    /// standard input, output and error on `pipes`' far ends, which this process then closes; the
    /// variables in `unsetting` are not passed on.
    ///
    /// - Throws: ``ProcessError`` when the process cannot be started.
    public static func withPipes(_ executable: String, _ arguments: [String], pipes: StreamPipes, unsetting: Set<String> = []) throws
        -> ChildProcess
    {
        let ends = pipes.farEnds
        guard ends.count == 3 else { throw ProcessError(message: "the pipes' far ends are already closed") }
        defer { pipes.closeFarEnds() }
        let pid = try spawn(
            executable, arguments, stdoutPath: nil, stderrPath: nil, pipeFD: (-1, ends[1]), environment: [:], unsetting: unsetting,
            newSession: false, stdinFD: ends[0], groupLeader: true, stderrFD: ends[2])
        return ChildProcess(pid: pid)
    }
}
