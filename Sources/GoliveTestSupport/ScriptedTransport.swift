import Engine
import Foundation
import System
import Playbook

/// A transport that answers commands from a script, for fast engine tests: each command is
/// matched against the rules (first match wins), and can succeed, fail, hang until stopped or drop
/// the connection; everything sent is recorded. It stands beside the real-sshd tests, never
/// instead of them.
public final class ScriptedTransport: Transport, @unchecked Sendable {
    /// How a command is answered.
    public struct Reply: Sendable {
        /// Exit status (nil: killed by a signal).
        public var exitCode: Int?
        /// Standard output.
        public var stdout: String
        /// Standard error.
        public var stderr: String
        /// How long the command takes.
        public var delay: Duration
        /// It never ends by itself: only its timeout or a cancellation stops it.
        public var hangs: Bool
        /// The connection drops while it runs (the command's effect is unknown).
        public var drops: Bool

        /// Creates a reply.
        public init(
            exitCode: Int? = 0, stdout: String = "", stderr: String = "", delay: Duration = .zero, hangs: Bool = false,
            drops: Bool = false
        ) {
            self.exitCode = exitCode
            self.stdout = stdout
            self.stderr = stderr
            self.delay = delay
            self.hangs = hangs
            self.drops = drops
        }

        /// Exit 0 with this output.
        public static func ok(_ stdout: String = "") -> Reply { Reply(stdout: stdout) }
        /// A non-zero exit with this error output.
        public static func fail(_ code: Int = 1, _ stderr: String = "") -> Reply { Reply(exitCode: code, stderr: stderr) }
        /// Runs until its timeout or a cancellation.
        public static let hang = Reply(hangs: true)
        /// The connection drops.
        public static let drop = Reply(drops: true)
    }

    /// One thing sent to a host.
    public struct Sent: Sendable, Hashable {
        /// What kind of thing.
        public enum Kind: String, Sendable, Hashable { case connect, run, upload }
        /// The host.
        public var host: String
        /// What kind.
        public var kind: Kind
        /// The command, or the upload's destination.
        public var text: String
    }

    private struct Rule {
        var host: String?
        var match: String
        var reply: Reply
        var remaining: Int?
    }

    private let lock = NSLock()
    private var rules: [Rule] = []
    private var unreachable: Set<String> = []
    private var connectsLeft: [String: Int] = [:]
    /// The environment locks on the hosts: lock directory name → the holder's run id.
    private var hostLocks: [String: String] = [:]
    private var log: [Sent] = []

    /// A transport with no rule: every command succeeds with no output.
    public init() {}

    /// Answers commands containing `match` (on `host`, or any) with `reply`, `times` times (nil: always).
    public func on(_ match: String, host: String? = nil, times: Int? = nil, reply: Reply) {
        lock.withLock { rules.append(Rule(host: host, match: match, reply: reply, remaining: times)) }
    }

    /// Makes connections to `host` fail (or succeed again).
    public func setUnreachable(_ host: String, _ value: Bool = true) {
        lock.withLock {
            if value { unreachable.insert(host) } else { unreachable.remove(host) }
        }
    }

    /// Lets `count` more connections to `host` through, then refuses the rest.
    public func refuseConnections(to host: String, after count: Int) {
        lock.withLock { connectsLeft[host] = count }
    }

    /// Everything sent, in order.
    public var sent: [Sent] { lock.withLock { log } }

    /// The commands run on `host`, in order, without the engine's own bookkeeping (host locks).
    public func commands(on host: String) -> [String] {
        sent.filter { $0.host == host && $0.kind == .run && !Self.isLockScript($0.text) }.map(\.text)
    }

    func record(_ sent: Sent) { lock.withLock { log.append(sent) } }

    /// One of the engine's host-lock scripts (not a command of the playbook).
    static func isLockScript(_ command: String) -> Bool { command.contains("${GOLIVE_LOCK_ROOT:-/var/tmp/golive}") }

    /// The command without the guard the engine puts before it (what the playbook asked for).
    static func unguarded(_ command: String) -> String {
        guard command.hasPrefix("GOLIVE_STEP="), let end = command.range(of: "unset __golive_s __golive_st __golive_t; set --\n") else {
            return command
        }
        return String(command[end.upperBound...])
    }

    /// Answers the engine's host-lock scripts like a host would: `mkdir` succeeds once per lock.
    func hostLockReply(for command: String, on host: String) -> Reply? {
        guard Self.isLockScript(command) else { return nil }
        let runID = command.range(of: "'run=")
            .map { command[$0.upperBound...].prefix { $0 != "'" } }.map(String.init) ?? ""
        return lock.withLock {
            if command.contains("echo TAKEN") {
                switch hostLocks[host] {
                case nil:
                    hostLocks[host] = runID
                    return .ok("TAKEN\n")
                case runID?: return .ok("OURS\n")
                case let holder?: return .ok("HELD\nrun=\(holder)\n")
                }
            }
            if command.contains("echo none") {
                let holder = hostLocks.removeValue(forKey: host)
                return .ok(holder.map { "run=\($0)\n" } ?? "none\n")
            }
            if hostLocks[host] == runID { hostLocks[host] = nil }
            return .ok()
        }
    }

    /// The run holding the environment's lock on `host`, if any.
    public func lockHolder(on host: String) -> String? { lock.withLock { hostLocks[host] } }

    func reply(for command: String, on host: String) -> Reply {
        lock.withLock {
            guard let index = rules.firstIndex(where: { ($0.host == nil || $0.host == host) && command.contains($0.match) && $0.remaining != 0 })
            else { return Reply() }
            if let remaining = rules[index].remaining { rules[index].remaining = remaining - 1 }
            return rules[index].reply
        }
    }

    public func connect(to host: InventoryHost) async throws -> any HostConnection {
        record(Sent(host: host.name, kind: .connect, text: host.address))
        let refused = lock.withLock { () -> Bool in
            if let left = connectsLeft[host.name] {
                if left <= 0 { return true }
                connectsLeft[host.name] = left - 1
            }
            return unreachable.contains(host.name)
        }
        if refused {
            throw TransportError(kind: .unreachable, host: host.name, message: "\(host.name): connection refused (scripted)")
        }
        return ScriptedConnection(transport: self, host: host.name)
    }
}

/// One connection of a ``ScriptedTransport``.
final class ScriptedConnection: HostConnection, @unchecked Sendable {
    let transport: ScriptedTransport
    let host: String
    private let lock = NSLock()
    private var dropped = false

    init(transport: ScriptedTransport, host: String) {
        self.transport = transport
        self.host = host
    }

    var summary: ConnectionSummary {
        ConnectionSummary(endpoint: "\(host):22", hostKey: "ED25519 SHA256:scripted", authMethod: "publickey", setupTime: .milliseconds(1))
    }

    private func checkConnected() throws {
        if lock.withLock({ dropped }) {
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): connection lost (scripted)")
        }
    }

    func run(_ command: String, timeout: Duration?, output: (@Sendable (Bool, Data) -> Void)?) async throws -> CommandOutcome {
        try checkConnected()
        let command = ScriptedTransport.unguarded(command)
        transport.record(.init(host: host, kind: .run, text: command))
        let reply = transport.hostLockReply(for: command, on: host) ?? transport.reply(for: command, on: host)
        if reply.drops {
            lock.withLock { dropped = true }
            throw TransportError(kind: .connectionLost, host: host, message: "\(host): connection lost (scripted)")
        }
        if reply.hangs || reply.delay > .zero {
            let wait = reply.hangs ? (timeout ?? .seconds(3600)) : min(reply.delay, timeout ?? reply.delay)
            do {
                try await Task.sleep(for: wait)
            } catch {
                throw TransportError(kind: .cancelled, host: host, message: "\(host): cancelled")
            }
            if reply.hangs || (timeout.map { reply.delay > $0 } ?? false) {
                return CommandOutcome(exitCode: nil, timedOut: true, duration: wait)
            }
        }
        return CommandOutcome(
            exitCode: reply.exitCode, stdout: Data(reply.stdout.utf8), stderr: Data(reply.stderr.utf8), duration: reply.delay)
    }

    /// An escalated command runs its script as a plain one would (the scripted host has no users).
    func run(
        _ command: String, escalation: Escalation, script: String, stdin: Data?, timeout: Duration?,
        output: (@Sendable (Bool, Data) -> Void)?
    ) async throws -> CommandOutcome {
        try await run(script, timeout: timeout, output: output)
    }

    func upload(_ data: Data, to path: String, mode: Int) async throws {
        try checkConnected()
        transport.record(.init(host: host, kind: .upload, text: path))
    }

    func stage(_ data: Data, beside path: String) async throws -> String {
        try checkConnected()
        transport.record(.init(host: host, kind: .upload, text: path))
        return path + ".golive-staged"
    }

    func close() async {}
}
