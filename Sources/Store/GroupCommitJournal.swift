import Engine
import Foundation
import Playbook

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

    /// What a store that can go away (PostgreSQL) does when a commit cannot reach it: how long to
    /// retry, which errors mean "unreachable", how to ask what it last committed (a commit whose
    /// answer was lost may have been made), and where to spill once it is given up.
    struct OutagePolicy: Sendable {
        var retry: Duration
        var isUnreachable: @Sendable (any Error) -> Bool
        /// The run's last committed sequence number in the store.
        var committedThrough: @Sendable () async throws -> Int64
        /// Opens the spill journal of the run, given its fence and the last acknowledged event.
        var openSpill: @Sendable (_ fence: String?, _ acknowledged: Int64) throws -> SpillJournal
    }

    private let outage: OutagePolicy?
    private var observer: (@Sendable (JournalOutage) async -> Void)?
    /// Once the store was given up: every later event goes here.
    private var spill: SpillJournal?

    init(runID: String, lastSequence: Int64, outage: OutagePolicy? = nil, commit: @escaping Commit) {
        self.runID = runID
        self.commit = commit
        self.outage = outage
        sequence = lastSequence
    }

    func adopt(fence: String) { self.fence = fence }

    func observeOutages(_ handler: @escaping @Sendable (JournalOutage) async -> Void) async { observer = handler }

    /// Commits `events`, riding out an unreachable store: the same batch is tried again (after
    /// asking whether it was committed after all) until the retry time is up, then written to the
    /// spill journal instead — so an event is never lost, never in the store twice, and never
    /// acknowledged before it is durable somewhere.
    private func commitOrSpill(_ events: [RunEvent]) async throws {
        if let spill { return try spill.append(events) }
        do {
            return try await commit(events, fence)
        } catch {
            guard let outage, !(error is FencedOut), outage.isUnreachable(error) else { throw error }
            let started = ContinuousClock.now, since = Date()
            let deadline = started.advanced(by: outage.retry)
            await observer?(.unreachable(reason: "\(error)", deadline: since.addingTimeInterval(outage.retry.seconds)))
            var last: any Error = error
            var delay = Duration.milliseconds(100)
            let through = events.last?.sequence ?? sequence
            while ContinuousClock.now < deadline {
                try? await Task.sleep(for: min(delay, deadline - ContinuousClock.now))
                delay = min(delay * 2, .seconds(2))
                do {
                    if try await outage.committedThrough() < through { try await commit(events, fence) }
                    await observer?(.recovered(seconds: (ContinuousClock.now - started).seconds))
                    return
                } catch let fenced as FencedOut {
                    throw fenced
                } catch where outage.isUnreachable(error) {
                    last = error
                }
            }
            let journal = try outage.openSpill(fence, sequence)
            try journal.append(events)
            spill = journal
            await observer?(.spilling(path: journal.path, reason: "\(last)"))
        }
    }

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
                try await commitOrSpill(numbered)
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
