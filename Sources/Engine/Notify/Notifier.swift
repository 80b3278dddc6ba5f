import Foundation
import Playbook
import Synchronization
import System

/// Tells a run's notification targets what happens, without ever being in the run's way: each
/// target has its own bounded queue and worker, so a slow or failing receiver delays nobody but
/// itself; each attempt is bounded by the target's timeout and retried with backoff. Every
/// delivery and every failure is reported back (the run records it on its timeline); what is
/// still undelivered when the run ends is named then.
public final class Notifier: Sendable {
    /// A target with what it needs to be reached (secrets revealed for use, never stored).
    public struct Reachable: Sendable {
        public var target: NotifyTarget
        public var address: String
        public var signingKey: String?
        public var headers: [String: String]
        /// The directory a command target runs in (the playbook's).
        public var directory: String
        /// The environment variables that hold the inventory's secrets: a command target does not get them.
        public var hidden: Set<String> = []

        public init(target: NotifyTarget, address: String, signingKey: String?, headers: [String: String], directory: String) {
            self.target = target
            self.address = address
            self.signingKey = signingKey
            self.headers = headers
            self.directory = directory
        }
    }

    /// `targets` with their secrets revealed from the inventory's `secrets` (a target whose secret
    /// is not set is left out: `run` refuses that before it starts).
    public static func reachable(_ targets: [NotifyTarget], secrets: [String: SecretSource], directory: String) -> [Reachable] {
        func reveal(_ text: NotifyTarget.Text) -> String? {
            switch text {
            case .literal(let value): value
            case .secret(let name): secrets[name]?.value?.revealForUse()
            }
        }
        let hidden = Set(secrets.values.compactMap(\.environmentVariable))
        return targets.compactMap { target -> Reachable? in
            guard let address = reveal(target.address) else { return nil }
            var headers: [String: String] = [:]
            for (name, value) in target.headers { headers[name] = reveal(value) }
            var reachable = Reachable(
                target: target, address: address, signingKey: target.signingSecret.flatMap { secrets[$0]?.value?.revealForUse() },
                headers: headers, directory: directory)
            reachable.hidden = hidden
            return reachable
        }
    }

    /// What became of one notification at one target.
    public struct Delivery: Sendable {
        public var target: String
        public var kind: NotifyTarget.Kind
        public var event: NotifyTarget.Event
        public var delivered: Bool
        public var attempts: Int
        /// From the notification's making to its delivery (or the last failure).
        public var milliseconds: Int
        /// `HTTP 200`, `exit 0`, or what failed.
        public var detail: String
    }

    /// The most notifications a target's queue holds; more are dropped (and reported).
    public static let queueLimit = 256

    private let targets: [Reachable]
    private let report: @Sendable (Delivery) async -> Void
    private let retryDelay: Duration
    private let queues: [AsyncStream<Notification>.Continuation]
    private let workers: Mutex<[Task<Void, Never>]> = Mutex([])
    private let pending: Mutex<[String: [String]]> = Mutex([:])

    /// A notifier for `targets`; `report` is told of every delivery and failure.
    public init(targets: [Reachable], retryDelay: Duration = .seconds(1), report: @escaping @Sendable (Delivery) async -> Void) {
        self.targets = targets
        self.report = report
        self.retryDelay = retryDelay
        var queues: [AsyncStream<Notification>.Continuation] = []
        var streams: [AsyncStream<Notification>] = []
        for _ in targets {
            let (stream, continuation) = AsyncStream<Notification>.makeStream(bufferingPolicy: .bufferingOldest(Self.queueLimit))
            streams.append(stream)
            queues.append(continuation)
        }
        self.queues = queues
        let tasks = zip(targets, streams).map { target, stream in
            Task { [self] in
                for await notification in stream { await self.deliver(notification, to: target) }
            }
        }
        workers.withLock { $0 = tasks }
    }

    /// Queues `notification` for every target that wants it (or only target `only`); returns at once.
    public func send(_ notification: Notification, only: String? = nil) {
        for (index, reachable) in targets.enumerated()
        where (only == nil || reachable.target.name == only) && (reachable.target.events.contains(notification.event) || notification.event == .test) {
            let key = reachable.target.name
            pending.withLock { $0[key, default: []].append(notification.id) }
            if case .dropped = queues[index].yield(notification) {
                pending.withLock { $0[key]?.removeAll { $0 == notification.id } }
                let delivery = Delivery(
                    target: key, kind: reachable.target.kind, event: notification.event, delivered: false, attempts: 0, milliseconds: 0,
                    detail: "dropped: the queue of \(Self.queueLimit) was full (the receiver is too slow)")
                Task { await report(delivery) }
            }
        }
    }

    /// Waits up to `limit` for every queued notification to be delivered (or given up), then
    /// stops; returns the targets and events still undelivered.
    public func finish(within limit: Duration) async -> [String] {
        for queue in queues { queue.finish() }
        let tasks = workers.withLock { $0 }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, pending.withLock({ $0.values.contains { !$0.isEmpty } }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = pending.withLock { pending in pending.flatMap { target, ids in ids.map { _ in target } } }
        for task in tasks { task.cancel() }
        return left
    }

    private func deliver(_ notification: Notification, to reachable: Reachable) async {
        let target = reachable.target
        var attempt = 0
        var detail = ""
        var delivered = false
        while attempt <= target.retries && !Task.isCancelled {
            if attempt > 0 {
                // Backoff: 1, 2, 4... times the retry delay.
                try? await Task.sleep(for: retryDelay * (1 << min(attempt - 1, 6)))
                if Task.isCancelled { break }
            }
            attempt += 1
            do {
                detail = try await Self.attempt(notification, reachable)
                delivered = true
                break
            } catch {
                detail = "\(error)"
            }
        }
        pending.withLock { $0[target.name]?.removeAll { $0 == notification.id } }
        let milliseconds = Int(Date().timeIntervalSince(notification.time) * 1000)
        await report(
            Delivery(
                target: target.name, kind: target.kind, event: notification.event, delivered: delivered, attempts: attempt,
                milliseconds: milliseconds, detail: detail))
    }

    /// One attempt; returns how it went (`HTTP 200`, `exit 0`).
    static func attempt(_ notification: Notification, _ reachable: Reachable) async throws -> String {
        let target = reachable.target
        switch target.kind {
        case .webhook, .slack:
            let body = target.kind == .slack ? notification.slackBody() : notification.body()
            var headers = reachable.headers
            headers["Content-Type"] = "application/json"
            headers["User-Agent"] = "golive"
            if target.kind == .webhook {
                headers["X-Golive-Event"] = notification.event.rawValue
                headers["X-Golive-Delivery"] = notification.id
                if let key = reachable.signingKey {
                    let signature = Digest.hmacSHA256(key: Data(key.utf8), data: body).map { String(format: "%02x", $0) }.joined()
                    headers["X-Golive-Signature"] = "sha256=" + signature
                }
            }
            let response = try await ControllerChecks.request(
                "POST", reachable.address, headers: headers, body: body, timeout: target.timeout, shownURL: target.shownAddress,
                followRedirects: false)
            guard (200..<300).contains(response.status) else {
                throw CheckError(message: "HTTP \(response.status)" + ((300..<400).contains(response.status) ? " (a redirect: not followed, give the final URL)" : ""))
            }
            return "HTTP \(response.status)"
        case .command:
            let script = "cd \(ShellQuote.quote(reachable.directory)) && \(reachable.address)"
            let result = try await AsyncProcess.run(
                "/bin/sh", ["-c", script], stdin: notification.body(), unsetting: reachable.hidden, timeout: target.timeout)
            if result.timedOut { throw CheckError(message: "no exit within \(DurationSyntax.format(target.timeout))") }
            guard result.status == 0 else {
                let said = result.text.split(separator: "\n").last.map { ": \($0.prefix(200))" } ?? ""
                throw CheckError(message: "exit \(result.status)\(said)")
            }
            return "exit 0"
        }
    }
}
