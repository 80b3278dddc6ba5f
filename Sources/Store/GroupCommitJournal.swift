import Engine

/// The write-ahead journal of one run, for either store: each event is committed before `append`
/// returns, so the run never acts on something the timeline does not show.
///
/// Appends that arrive while a commit is in progress are grouped into the next transaction (group
/// commit): parallel hosts share one commit without any of them going on before its event is
/// durable. Events are committed in their sequence order, so the journal never has a gap, even when
/// the process dies between two appends that arrived out of order. The store's `commit` writes one
/// batch in one transaction, after checking that the run's fence is still the one given.
actor GroupCommitJournal: Journal {
    /// Writes `events` (numbered, with their run id) in one transaction; throws ``FencedOut``
    /// when `fence` is given and is no longer the run's.
    typealias Commit = @Sendable (_ events: [RunEvent], _ fence: String?) async throws -> Void

    let runID: String
    private let commit: Commit
    private var sequence: Int64
    private var pending: [(RunEvent, CheckedContinuation<Int64, any Error>)] = []
    private var writing = false
    /// The fence appends must still hold (nil: not fenced yet).
    private var fence: String?
    /// The error of a failed commit: every later append fails with it (committing them would leave a gap).
    private var failure: (any Error)?

    init(runID: String, lastSequence: Int64, commit: @escaping Commit) {
        self.runID = runID
        self.commit = commit
        sequence = lastSequence
    }

    func adopt(fence: String) { self.fence = fence }

    @discardableResult
    func append(_ event: RunEvent) async throws -> Int64 {
        if let failure { throw failure }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append((event, continuation))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    /// The pending appends that can be committed now, in sequence order: events numbered by the
    /// caller are committed only once every number before them is (appends made in order may
    /// arrive out of order; the journal never holds an event whose predecessor it lacks). The
    /// rest stay pending.
    private func takeCommittable() -> [(RunEvent, CheckedContinuation<Int64, any Error>)] {
        var ready: [(RunEvent, CheckedContinuation<Int64, any Error>)] = []
        var next = sequence
        var waiting = pending.sorted { ($0.0.sequence ?? Int64.max) < ($1.0.sequence ?? Int64.max) }
        while let first = waiting.first {
            if let number = first.0.sequence {
                guard number <= next + 1 else { break }
                next = max(next, number)
            } else {
                next += 1
            }
            ready.append(waiting.removeFirst())
        }
        pending = waiting
        return ready
    }

    private func drain() async {
        while true {
            let batch = takeCommittable()
            if batch.isEmpty { break }
            var numbered: [RunEvent] = []
            var next = sequence
            for (event, _) in batch {
                var stored = event
                stored.runID = runID
                let sequence = event.sequence ?? (next + 1)
                next = max(next, sequence)
                stored.sequence = sequence
                numbered.append(stored)
            }
            do {
                try await commit(numbered, fence)
                sequence = next
                for (index, (_, continuation)) in batch.enumerated() { continuation.resume(returning: numbered[index].sequence ?? 0) }
            } catch {
                failure = error
                for (_, continuation) in batch + pending { continuation.resume(throwing: error) }
                pending.removeAll()
            }
        }
        writing = false
    }
}
