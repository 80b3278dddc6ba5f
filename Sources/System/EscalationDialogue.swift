import Foundation

/// The controller's half of an escalation, between the login shell starting `sudo` (or `su`,
/// `doas`) and the escalated shell reading its script. It reads what arrives on stderr:
///
/// - sudo's prompt (``Escalation/promptMarker``) the first time: the password goes on stdin, one line;
/// - the prompt a second time: the password was refused; stdin is closed at once (sudo gives up
///   after one wrong attempt, never three, so no lockout counts up);
/// - the escalated shell's `golive-pgid:` line: it has started and reads its script from stdin now.
///
/// With NOPASSWD or a cached sudo timestamp no prompt comes, and the password is never sent: were
/// it sent up front, it would become the command's own input.
public struct EscalationDialogue: Sendable {
    /// Where the dialogue stands.
    public enum Phase: Sendable, Hashable {
        /// `abandoned`: it asked something golive cannot answer (a new password for an expired one).
        case waiting, passwordSent, started, refused, abandoned
    }

    /// What to do after a chunk of stderr.
    public struct Reply: Sendable {
        /// Bytes of the command's own stderr to pass on (sudo's words, not its prompts or our markers).
        public var stderr = Data()
        /// Bytes to write on stdin now.
        public var write: Data?
        /// Close stdin now (the password was refused).
        public var closeInput = false
    }

    /// The escalation being answered.
    public let escalation: Escalation
    /// Where it stands.
    public private(set) var phase = Phase.waiting
    /// True once sudo asked for the password.
    public private(set) var promptSeen = false
    /// What came before the escalated shell started (sudo's own words), for classifying a failure.
    public private(set) var said = ""
    private var pending = Data()
    private let script: Data

    /// A dialogue that sends `script` (the escalated shell's frame and the command's stdin) once the
    /// escalated shell has started.
    public init(escalation: Escalation, script: Data) {
        self.escalation = escalation
        self.script = script
    }

    /// Feeds a chunk of stderr.
    public mutating func receive(_ chunk: Data) -> Reply {
        var reply = Reply()
        guard phase == .waiting || phase == .passwordSent else {
            reply.stderr = chunk
            return reply
        }
        pending.append(chunk)
        let marker = Data(Escalation.promptMarker.utf8)
        while !pending.isEmpty, phase == .waiting || phase == .passwordSent {
            if let range = pending.range(of: marker) {
                // Everything before the prompt is sudo's own words (a lecture, "Sorry, try again.").
                absorb(pending[pending.startIndex..<range.lowerBound], into: &reply)
                pending.removeSubrange(pending.startIndex..<range.upperBound)
                promptSeen = true
                if phase == .waiting, let password = escalation.password {
                    reply.write = Data((password + "\n").utf8)
                    phase = .passwordSent
                } else {
                    phase = .refused
                    reply.closeInput = true
                }
                continue
            }
            if let line = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let text = String(decoding: pending[pending.startIndex..<line], as: UTF8.self)
                if text.hasPrefix(ShellBootstrap.pidMarker) {
                    pending.removeSubrange(pending.startIndex...line)
                    phase = .started
                    reply.write = script
                    reply.stderr.append(pending)
                    pending = Data()
                    break
                }
                absorb(pending[pending.startIndex...line], into: &reply)
                pending.removeSubrange(pending.startIndex...line)
                if Self.unanswerable(said) {
                    phase = .abandoned
                    reply.closeInput = true
                    break
                }
                continue
            }
            // A partial line: wait for the rest (sudo ends what it says with a newline), within a bound.
            if pending.count > 64 * 1024 {
                absorb(pending, into: &reply)
                pending = Data()
            }
            break
        }
        return reply
    }

    /// PAM asking for a new password (the login's has expired): nothing golive may answer.
    static func unanswerable(_ said: String) -> Bool {
        let text = said.lowercased()
        return text.contains("password has expired") || text.contains("change your password") || text.contains("new password")
    }

    private mutating func absorb(_ bytes: Data, into reply: inout Reply) {
        guard !bytes.isEmpty else { return }
        said += String(decoding: bytes, as: UTF8.self)
        reply.stderr.append(bytes)
    }

    /// Why the escalation failed, when the command ended without the escalated shell starting.
    public func failure(timedOut: Bool) -> Escalation.Failure? {
        if phase == .refused { return .passwordRefused }
        if phase == .abandoned { return .other(Escalation.tellingLine(said)) }
        guard phase != .started else { return nil }
        if timedOut { return .noAnswer }
        return escalation.failure(stderr: said, promptSeen: promptSeen, passwordSent: phase == .passwordSent)
    }
}
