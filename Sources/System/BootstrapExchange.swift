import Foundation

/// The controller's half of one command started through ``ShellBootstrap``, whatever carries its
/// streams (a libssh2 channel, an `ssh` client's pipes): the input to send, the bootstrap's
/// `golive-pgid:` line taken off stderr (what the server said before it is the command's stderr),
/// the escalation's dialogue answered (``EscalationDialogue``), and both streams captured.
public struct BootstrapExchange: Sendable {
    /// Everything to write on the command's stdin, in order: the frame, then the dialogue's answers as
    /// they come. The carrier sends from where it got to.
    public private(set) var input: Data
    /// The command's process group (the login shell's pid), once its line was read.
    public private(set) var processGroup: Int32?
    /// The escalation being answered (`become`), if any.
    public private(set) var dialogue: EscalationDialogue?
    /// Standard output, bounded.
    public private(set) var stdout: OutputCapture
    /// Standard error, bounded (without the bootstrap's line and the escalation's prompts).
    public private(set) var stderr: OutputCapture
    private var pidLineParsed = false
    private var preamble = 0
    private var stderrHead = Data()

    /// An exchange for `command`, followed on stdin by `stdin` (without an escalation; with one, the
    /// dialogue's script carries it).
    public init(command: String, stdin: Data?, dialogue: EscalationDialogue?, captureLimit: Int) {
        input = ShellBootstrap.input(command: command, stdin: dialogue == nil ? stdin : nil)
        self.dialogue = dialogue
        stdout = OutputCapture(limit: captureLimit)
        stderr = OutputCapture(limit: captureLimit)
    }

    /// A command's bounds from its start: its own (`timeout`), the escalation's until the escalated
    /// shell starts (the dialogue's prompt timeout), and the first of the two, to watch first.
    public func deadlines(from started: ContinuousClock.Instant, timeout: Duration?)
        -> (command: ContinuousClock.Instant?, prompt: ContinuousClock.Instant?, first: ContinuousClock.Instant?)
    {
        let command = timeout.map { started.advanced(by: $0) }
        guard let dialogue else { return (command, nil, command) }
        // The escalation has its own, shorter bound until the escalated shell starts.
        let prompt = started.advanced(by: dialogue.escalation.promptTimeout)
        return (command, prompt, command.map { min($0, prompt) } ?? prompt)
    }

    /// True while the escalation has not started the escalated shell (nor been refused): stdin stays open.
    public var awaitingEscalation: Bool {
        guard let dialogue else { return false }
        return dialogue.phase == .waiting || dialogue.phase == .passwordSent
    }

    /// True once the escalated shell has started (always false without an escalation).
    public var escalationStarted: Bool { dialogue?.phase == .started }

    /// Takes a chunk of the command's output; returns what of it is the command's own, to pass on as it arrives.
    public mutating func receive(_ chunk: Data, stdout isOutput: Bool) -> Data {
        guard !isOutput else {
            stdout.append(chunk)
            return chunk
        }
        var passed = Data()
        var chunk = chunk
        if !pidLineParsed {
            // What the server said before the bootstrap's line (a banner, ~/.ssh/rc) is the command's
            // stderr, never part of the escalation's dialogue.
            let (before, rest) = parsePidLine(chunk)
            passed.append(before)
            chunk = rest
        }
        if !chunk.isEmpty, awaitingEscalation, var answering = dialogue {
            let reply = answering.receive(chunk)
            dialogue = answering
            chunk = reply.stderr
            if let write = reply.write { input.append(write) }
        }
        passed.append(chunk)
        stderr.append(passed)
        return passed
    }

    /// Why the escalation never started the command, for a command that did not exit 0.
    public func escalationFailure(timedOut: Bool) -> Escalation.Failure? {
        dialogue?.failure(timedOut: timedOut)
    }

    /// Consumes the bootstrap's `golive-pgid:` line; returns the bytes around it. Lines before it are
    /// passed on, up to a bound; a partial line waits for the rest.
    private mutating func parsePidLine(_ chunk: Data) -> (preamble: Data, rest: Data) {
        stderrHead.append(chunk)
        var passed = Data()
        while let newline = stderrHead.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: stderrHead[stderrHead.startIndex..<newline], as: UTF8.self)
            let rest = Data(stderrHead[stderrHead.index(after: newline)...])
            if line.hasPrefix(ShellBootstrap.pidMarker), let pid = Int32(line.dropFirst(ShellBootstrap.pidMarker.count)), pid > 1 {
                pidLineParsed = true
                processGroup = pid
                stderrHead = Data()
                return (passed, rest)
            }
            passed.append(stderrHead[stderrHead.startIndex...newline])
            stderrHead = rest
        }
        preamble += passed.count
        if preamble + stderrHead.count > 64 * 1024 {
            pidLineParsed = true  // no bootstrap line after all: hand everything on
            defer { stderrHead = Data() }
            return (passed + stderrHead, Data())
        }
        return (passed, Data())
    }
}
