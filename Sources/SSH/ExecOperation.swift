internal import CLibSSH2
import Foundation
import System

/// Runs one command on an exec channel: optional stdin, stdout and stderr drained separately as they
/// arrive, exit status or signal. On timeout or cancellation the remote process group gets TERM,
/// then KILL, and the channel is closed; the connection stays usable.
final class ExecOperation: LoopOperation, @unchecked Sendable {
    private enum State {
        case open, exec, io, closing, waitClosed, free
    }

    /// The bootstrap's input, its `golive-pgid:` line, the escalation's dialogue and the captures.
    private var exchange: BootstrapExchange
    private var stdinSent = 0
    private var eofSent = false
    private let output: OutputHandler?
    private let timeout: Duration?
    private let result = OneShot<CommandResult>()
    private var state = State.open
    private var channel: OpaquePointer?
    private var started = ContinuousClock.now
    private var stopping: Termination?
    private var stopReason: SSHError?
    private var signalsSent = 0
    private var signalToSend: String?
    /// A channel opened to run `kill`, not yet exec'd; and those already exec'd (freed at the end).
    private var pendingKiller: OpaquePointer?
    private var killers: [OpaquePointer] = []
    /// True when the escalation did not start in its time.
    private var escalationTimedOut = false
    private var commandDeadline: ContinuousClock.Instant?
    /// When the escalation must have started the escalated shell (nil without one).
    private var promptDeadline: ContinuousClock.Instant?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)

    init(
        command: String, stdin: Data?, dialogue: EscalationDialogue? = nil, timeout: Duration?, captureLimit: Int,
        output: OutputHandler?
    ) {
        exchange = BootstrapExchange(command: command, stdin: stdin, dialogue: dialogue, captureLimit: captureLimit)
        self.timeout = timeout
        self.output = output
        super.init()
    }

    deinit { buffer.deallocate() }

    func install(_ continuation: CheckedContinuation<CommandResult, any Error>) { result.install(continuation) }

    override var keepaliveSafe: Bool { state == .io && stdinSent >= exchange.input.count && eofSent }

    override func fail(_ error: SSHError) { result.fail(error) }

    override func progress(_ core: SessionCore) -> OperationProgress {
        guard let session = core.session else {
            result.fail(core.error(.closed, .exec, message: "connection closed"))
            return .finished
        }
        while true {
            switch state {
            case .open:
                started = .now
                if let timeout { deadline = started.advanced(by: timeout) }
                commandDeadline = deadline
                if let dialogue = exchange.dialogue {
                    // The escalation has its own, shorter bound until the escalated shell starts.
                    let prompt = started.advanced(by: dialogue.escalation.promptTimeout)
                    promptDeadline = prompt
                    deadline = deadline.map { min($0, prompt) } ?? prompt
                }
                guard let opened = golive_ssh2_channel_open_session(session) else {
                    let code = libssh2_session_last_errno(session)
                    if code == LIBSSH2_ERROR_EAGAIN { return .blocked }
                    return abort(core, core.failure(code, .exec, kind: .channelFailed))
                }
                channel = opened
                state = .exec
            case .exec:
                guard let channel else { return .finished }
                let rc = golive_ssh2_channel_exec(channel, ShellBootstrap.command)
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                if rc != 0 { return abort(core, core.failure(rc, .exec, kind: .channelFailed)) }
                state = .io
            case .io:
                guard let channel else { return .finished }
                if let signal = signalToSend {
                    if sendSignal(session, signal) == .blocked { return .blocked }
                    signalToSend = nil
                }
                if stopping != nil, !eofSent, awaitingEscalation {
                    // Stopping before the escalation started: end its input, so that a sudo still
                    // waiting (which the login user may not signal) gives up.
                    let rc = libssh2_channel_send_eof(channel)
                    if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                    eofSent = true
                }
                if stopping == nil {
                    if stdinSent < exchange.input.count {
                        let rc = exchange.input.withUnsafeBytes { raw -> Int in
                            let base = raw.baseAddress?.advanced(by: stdinSent).assumingMemoryBound(to: CChar.self)
                            return golive_ssh2_channel_write(channel, base, min(raw.count - stdinSent, 32 * 1024))
                        }
                        if rc == Int(LIBSSH2_ERROR_EAGAIN) { return .blocked }
                        if rc < 0 { return abort(core, core.failure(Int32(rc), .exec, kind: .channelFailed)) }
                        stdinSent += rc
                        continue
                    }
                    if !eofSent && !awaitingEscalation {
                        let rc = libssh2_channel_send_eof(channel)
                        if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                        if rc < 0 { return abort(core, core.failure(rc, .exec, kind: .channelFailed)) }
                        eofSent = true
                    }
                }
                var moved = 0
                for stream in [OutputStream.stdout, .stderr] {
                    while moved < 1 << 20 {
                        let base = buffer.baseAddress?.assumingMemoryBound(to: CChar.self)
                        let rc =
                            stream == .stdout
                            ? golive_ssh2_channel_read(channel, base, buffer.count)
                            : golive_ssh2_channel_read_stderr(channel, base, buffer.count)
                        if rc == Int(LIBSSH2_ERROR_EAGAIN) || rc == 0 { break }
                        if rc < 0 { return abort(core, core.failure(Int32(rc), .exec, kind: .channelFailed)) }
                        moved += rc
                        let wasAwaiting = awaitingEscalation
                        let passed = exchange.receive(Data(UnsafeRawBufferPointer(rebasing: buffer[0..<rc])), stdout: stream == .stdout)
                        // Once started, the command's own bound again (unless a stop already set its own).
                        if wasAwaiting, exchange.escalationStarted, stopping == nil { deadline = commandDeadline }
                        if !passed.isEmpty { output?(stream, passed) }
                    }
                }
                if moved >= 1 << 20 { return .again }
                // The escalation's answer (the password, the script) or the end of stdin to send.
                if stopping == nil && (stdinSent < exchange.input.count || (!eofSent && !awaitingEscalation)) { continue }
                if libssh2_channel_eof(channel) != 0 {
                    state = .closing
                    continue
                }
                return .blocked
            case .closing:
                guard let channel else { return .finished }
                let rc = golive_ssh2_channel_close(channel)
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                if rc < 0 { return abort(core, core.failure(rc, .exec, kind: .channelFailed)) }
                state = .waitClosed
            case .waitClosed:
                guard let channel else { return .finished }
                let rc = libssh2_channel_wait_closed(channel)
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                if rc < 0 { return abort(core, core.failure(rc, .exec, kind: .channelFailed)) }
                deliver(core, channel)
                state = .free
            case .free:
                if let channel {
                    let rc = libssh2_channel_free(channel)
                    if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                    self.channel = nil
                }
                if freeKillers() == .blocked { return .blocked }
                return .finished
            }
        }
    }

    /// True while the escalation has not started the escalated shell (nor been refused): stdin stays open.
    private var awaitingEscalation: Bool { exchange.awaitingEscalation }

    /// Runs `kill -SIGNAL -- -PGID` on a second channel of the same session: the remote command's
    /// process group (sshd starts every session in its own), read from the bootstrap's first stderr
    /// line, since libssh2 1.10 cannot send RFC 4254 "signal" requests on a channel already running a command.
    private func sendSignal(_ session: OpaquePointer, _ signal: String) -> OperationProgress {
        guard let processGroup = exchange.processGroup else { return .finished }  // unknown group: the close and the deadline act
        if pendingKiller == nil {
            guard let opened = golive_ssh2_channel_open_session(session) else {
                return libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN ? .blocked : .finished
            }
            pendingKiller = opened
        }
        guard let killer = pendingKiller else { return .finished }
        let rc = golive_ssh2_channel_exec(killer, "kill -s \(signal) -- -\(processGroup) 2>/dev/null")
        if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
        killers.append(killer)
        pendingKiller = nil
        return .finished
    }

    private func freeKillers() -> OperationProgress {
        if let pendingKiller {
            if libssh2_channel_free(pendingKiller) == LIBSSH2_ERROR_EAGAIN { return .blocked }
            self.pendingKiller = nil
        }
        while let killer = killers.last {
            if libssh2_channel_free(killer) == LIBSSH2_ERROR_EAGAIN { return .blocked }
            killers.removeLast()
        }
        return .finished
    }

    private func deliver(_ core: SessionCore, _ channel: OpaquePointer) {
        if let stopReason {
            result.fail(stopReason)
            return
        }
        var termination = Termination.exited(libssh2_channel_get_exit_status(channel))
        var name: UnsafeMutablePointer<CChar>?
        var nameLength = 0
        if libssh2_channel_get_exit_signal(channel, &name, &nameLength, nil, nil, nil, nil) == 0, let name {
            if nameLength > 0 { termination = .signaled(String(cString: name)) }
            libssh2_free(core.session, name)
        }
        if let stopping { termination = stopping }
        result.succeed(outcome(termination))
    }

    /// What the command did, as far as it got: its output, and why the escalation never started it.
    private func outcome(_ termination: Termination) -> CommandResult {
        var delivered = CommandResult(
            termination: termination, stdout: exchange.stdout.data, stderr: exchange.stderr.data,
            stdoutOmitted: exchange.stdout.omitted, stderrOmitted: exchange.stderr.omitted,
            duration: started.duration(to: .now))
        if termination != .exited(0) { delivered.escalationFailure = exchange.escalationFailure(timedOut: escalationTimedOut) }
        return delivered
    }

    /// Timeout: signal the remote process group (TERM, then KILL), then close; give up on the
    /// connection only if the server does not close the channel either.
    override func deadlineReached(_ core: SessionCore) -> OperationProgress {
        // The escalation's own bound passed (not the step's, when that is the shorter).
        if awaitingEscalation, signalsSent == 0, let promptDeadline, commandDeadline.map({ promptDeadline <= $0 }) ?? true {
            escalationTimedOut = true
        }
        return stop(core, as: .timedOut, error: nil)
    }

    override func cancel(_ core: SessionCore) -> OperationProgress {
        stop(core, as: .timedOut, error: core.error(.cancelled, .exec, message: "cancelled"))
    }

    private func stop(_ core: SessionCore, as termination: Termination, error: SSHError?) -> OperationProgress {
        guard channel != nil, state == .io || state == .closing || state == .waitClosed else {
            if let error { result.fail(error) } else {
                result.fail(core.error(.connectionLost, .exec, message: "the channel did not open in time"))
            }
            core.markBroken(core.error(.connectionLost, .exec, message: "channel setup timed out"))
            return .finished
        }
        if stopping == nil {
            stopping = termination
            stopReason = error
        }
        signalsSent += 1
        switch signalsSent {
        case 1, 2:
            // Signal the command's process group through a second channel (see `processGroup`).
            if state == .io { signalToSend = signalsSent == 1 ? "TERM" : "KILL" }
            deadline = ContinuousClock.now.advanced(by: .seconds(3))
            return .again
        default:
            let reason = core.error(
                .connectionLost, .exec, message: "the command did not stop after TERM and KILL; connection closed")
            if stopReason == nil {
                result.succeed(outcome(termination))
            } else {
                result.fail(stopReason ?? reason)
            }
            core.markBroken(reason)
            return .finished
        }
    }

    private func abort(_ core: SessionCore, _ error: SSHError) -> OperationProgress {
        result.fail(error)
        if error.kind == .connectionLost { core.markBroken(error) } else if let channel {
            _ = libssh2_channel_free(channel)
            self.channel = nil
        }
        return .finished
    }
}
