import Foundation
import PostgresNIO

/// Counts the store's commits as they happen: one connection `LISTEN`s on `golive_events`, which
/// every journal commit notifies (the notification is delivered when the commit is), so a live
/// view reads again only when there is something to read. Started on first use; a connection that
/// drops is opened again after a second, and meanwhile the count is unknown (nil: read anyway).
actor PostgresChangeFeed {
    static let channel = "golive_events"

    private let connect: @Sendable () async throws -> PostgresConnection
    private var generation = 0
    private var listening = false
    private var task: Task<Void, Never>?
    private var ready: [CheckedContinuation<Void, Never>] = []

    init(connect: @escaping @Sendable () async throws -> PostgresConnection) { self.connect = connect }

    /// The number of commits seen so far, once listening (the first call waits up to two
    /// seconds for the `LISTEN` to be in place); nil while not listening.
    func mark() async -> Int? {
        if task == nil {
            task = Task { await self.follow() }
            await withCheckedContinuation { continuation in
                ready.append(continuation)
                Task {
                    try? await Task.sleep(for: .seconds(2))
                    self.wake()
                }
            }
        }
        return listening ? generation : nil
    }

    private func wake() {
        for continuation in ready { continuation.resume() }
        ready.removeAll()
    }

    private func heard() { generation += 1 }

    private func set(listening: Bool) {
        self.listening = listening
        if listening { wake() }
    }

    private func follow() async {
        while !Task.isCancelled {
            if let connection = try? await connect() {
                _ = try? await connection.listen(on: Self.channel) { notifications in
                    set(listening: true)
                    for try await _ in notifications { heard() }
                }
                try? await connection.close()
            }
            set(listening: false)
            generation += 1
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Stops listening.
    func stop() {
        task?.cancel()
        task = nil
        wake()
    }
}
