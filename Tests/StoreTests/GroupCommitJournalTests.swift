import Engine
import Foundation
import Synchronization
import Testing

@testable import Store

/// The journal riding out a store that goes away, over a commit that fails as told: an event is
/// never lost, never committed twice (a commit whose answer was lost is found committed), never
/// acknowledged before it is durable — in the store, or in the spill journal once the store is
/// given up; a takeover found on the retry stops it; other errors are not retried.
@Suite struct GroupCommitJournalTests {
    /// A store's committed events, and how the next commits fail.
    final class FakeStore: Sendable {
        enum Fault: Sendable { case none, refuse, loseAnswer, fence }
        let committed = Mutex<[RunEvent]>([])
        let faults = Mutex<[Fault]>([])
        let outages = Mutex<[JournalOutage]>([])

        func commit(_ events: [RunEvent]) throws {
            let fault = faults.withLock { $0.isEmpty ? .none : $0.removeFirst() }
            switch fault {
            case .none: committed.withLock { $0 += events }
            case .refuse: throw PostgresStoreError(message: "connection refused", unreachable: true)
            case .loseAnswer:
                committed.withLock { $0 += events }
                throw PostgresStoreError(message: "the connection to the store was lost", unreachable: true)
            case .fence: throw FencedOut(runID: "r")
            }
        }
    }

    func journal(_ store: FakeStore, retry: Duration, spill directory: String) async -> GroupCommitJournal {
        let policy = GroupCommitJournal.OutagePolicy(
            retry: retry,
            isUnreachable: { ($0 as? PostgresStoreError)?.unreachable ?? false },
            committedThrough: {
                if store.faults.withLock({ $0.first == .refuse }) {
                    _ = store.faults.withLock { $0.removeFirst() }
                    throw PostgresStoreError(message: "connection refused", unreachable: true)
                }
                return store.committed.withLock { $0.last?.sequence ?? 0 }
            },
            openSpill: { fence, acknowledged in
                try SpillJournal.create(
                    in: directory,
                    header: .init(id: StoreTokens.random(), runID: "r", store: "s", fence: fence, acknowledged: acknowledged, controller: "c", created: Date()))
            })
        let journal = GroupCommitJournal(runID: "r", lastSequence: 0, outage: policy) { events, _ in try store.commit(events) }
        await journal.observeOutages { outage in store.outages.withLock { $0.append(outage) } }
        return journal
    }

    func event(_ number: Int64) -> RunEvent {
        var event = RunEvent(runID: "r", kind: .stepStarted, message: "event \(number)")
        event.sequence = number
        return event
    }

    let directory = NSTemporaryDirectory() + "golive-spill-" + UUID().uuidString.prefix(8)

    @Test func aLostAnswerIsFoundCommittedAndARefusalIsRetriedEachEventOnce() async throws {
        let store = FakeStore()
        store.faults.withLock { $0 = [.loseAnswer] }
        let journal = await journal(store, retry: .seconds(10), spill: directory)
        _ = try await journal.append(event(1))
        store.faults.withLock { $0 = [.refuse, .refuse, .refuse] }
        _ = try await journal.append(event(2))
        _ = try await journal.append(event(3))
        #expect(store.committed.withLock { $0.map(\.sequence) } == [1, 2, 3])
        let outages = store.outages.withLock { $0 }
        #expect(outages.filter { if case .recovered = $0 { true } else { false } }.count == 2, "\(outages)")
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func aStoreGoneForGoodSpillsEveryEventFromThenOnInOrder() async throws {
        let store = FakeStore()
        let journal = await journal(store, retry: .milliseconds(300), spill: directory)
        _ = try await journal.append(event(1))
        store.faults.withLock { $0 = Array(repeating: .refuse, count: 1000) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in Int64(2)...20 { group.addTask { _ = try await journal.append(self.event(number)) } }
            try await group.waitForAll()
        }
        let spilled = try #require(store.outages.withLock { $0.compactMap { if case .spilling(let path, _) = $0 { path } else { nil } } }.first)
        let (header, events) = try SpillJournal.read(spilled)
        #expect(header.acknowledged == 1 && header.runID == "r")
        #expect(events.map(\.sequence) == (2...20).map { Optional($0) })
        #expect(store.committed.withLock { $0.count } == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: spilled)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func aTakeoverFoundOnTheRetryStopsTheJournal() async throws {
        let store = FakeStore()
        store.faults.withLock { $0 = [.refuse, .fence] }
        let journal = await journal(store, retry: .seconds(10), spill: directory)
        await #expect(throws: FencedOut.self) { _ = try await journal.append(event(1)) }
        #expect(store.committed.withLock { $0.isEmpty })
    }

    @Test func anErrorThatIsNotAnOutageIsNotRetried() async throws {
        let store = FakeStore()
        let journal = GroupCommitJournal(runID: "r", lastSequence: 0, outage: nil) { _, _ in
            throw PostgresStoreError(message: "permission denied", sqlState: "42501")
        }
        await #expect(throws: PostgresStoreError.self) { _ = try await journal.append(event(1)) }
        #expect(store.outages.withLock { $0.isEmpty })
    }
}
