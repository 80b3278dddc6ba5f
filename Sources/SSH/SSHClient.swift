internal import CLibSSH2
import Foundation

/// Makes SSH connections and drives them all from a few event-loop threads.
///
/// One client serves a whole run: hundreds of hosts cost a socket and libssh2's buffers each, not a
/// thread. Concurrent handshakes are capped so a bastion's `MaxStartups` is not tripped. Jump hosts are
/// connected once and shared by every host behind them.
public final class SSHClient: Sendable {
    private static let libraryInitialized: Bool = {
        libssh2_init(0) == 0
    }()

    private let loops: [EventLoop]
    private let nextLoop = Counter()
    private let handshakes: AsyncSemaphore
    private let jumps = JumpCache()
    private let knownHostsCache = KnownHostsCache()

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - threads: event-loop threads (default: the number of cores, at most 4).
    ///   - maxConcurrentHandshakes: connections being set up at once; the rest wait their turn.
    public init(threads: Int? = nil, maxConcurrentHandshakes: Int = 64) {
        precondition(Self.libraryInitialized, "libssh2_init failed")
        let count = threads ?? min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))
        loops = (0..<max(1, count)).map { EventLoop(name: "golive-ssh-\($0)") }
        handshakes = AsyncSemaphore(max(1, maxConcurrentHandshakes))
    }

    deinit {
        for loop in loops { loop.stop() }
    }

    /// Stops the event loops and waits for them; every connection is closed and pending calls fail
    /// with `.closed`. Call it before the process exits.
    public func shutdown() {
        for loop in loops { loop.stop() }
        for loop in loops { loop.stopAndWait() }
    }

    /// Connects, verifies the host key and authenticates.
    ///
    /// - Throws: `SSHError` — `.resolveFailed`, `.connectFailed`, `.connectTimedOut`, `.handshakeFailed`,
    ///   `.hostKeyUnknown`, `.hostKeyMismatch`, `.hostKeyRevoked`, `.authenticationFailed`, `.unsupportedKey`.
    ///   Safe to retry.
    public func connect(_ target: SSHTarget) async throws -> SSHConnection {
        let knownHosts: KnownHosts
        do {
            knownHosts = try knownHostsCache.load(target.knownHostsFiles)
        } catch {
            throw SSHError(
                kind: .hostKeyUnknown, host: target.name, endpoint: target.endpoint, operation: .hostKey,
                message: "cannot read known_hosts: \(error.localizedDescription)")
        }
        var via: [SSHConnection] = []
        let socket: ConnectOperation.Socket
        if let last = target.jumps.last {
            var hop = last
            hop.jumps = Array(target.jumps.dropLast())
            let jumpTarget = hop
            let jump = try await jumps.connection(for: jumpTarget) { try await self.connect(jumpTarget) }
            via = [jump] + jump.via
            let fd = try await jump.openTunnel(to: target.address, port: target.port)
            socket = .tunnel(fd, via: jump.target.name)
        } else {
            do {
                socket = .addresses(try ResolvedAddress.resolve(target.address, port: target.port))
            } catch {
                throw SSHError(
                    kind: .resolveFailed, host: target.name, endpoint: target.endpoint, operation: .resolve,
                    message: "cannot resolve \(target.address): \(error.message)")
            }
        }
        await handshakes.acquire()
        defer { Task { await handshakes.release() } }
        let loop = loops[nextLoop.next() % loops.count]
        let core = SessionCore(target: target, loop: loop)
        let operation = ConnectOperation(target: target, knownHosts: knownHosts, socket: socket)
        let info = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                loop.submit {
                    operation.install(continuation)
                    loop.register(core)
                    core.enqueue(operation)
                }
            }
        } onCancel: {
            loop.submit { core.cancel(operation) }
        }
        return SSHConnection(info: info, target: target, core: core, loop: loop, via: via)
    }
}

/// A thread-safe incrementing counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// Jump-host connections shared by all the hosts behind them; a failed attempt is not cached.
actor JumpCache {
    private var connections: [SSHTarget: Task<SSHConnection, any Error>] = [:]

    func connection(for target: SSHTarget, _ make: @escaping @Sendable () async throws -> SSHConnection)
        async throws -> SSHConnection
    {
        if let existing = connections[target] {
            if let connection = try? await existing.value, connection.isUsable { return connection }
        }
        let task = Task { try await make() }
        connections[target] = task
        do {
            return try await task.value
        } catch {
            connections[target] = nil
            throw error
        }
    }
}
