import Engine
import Foundation
import GoliveTestSupport
import Testing

@testable import Store

/// Spill journals replayed into a real PostgreSQL store: a spill that continues its run (the fence
/// still the spilling controller's) joins its timeline in order, skipping what the store already
/// has, and releases the run's lock when it holds the run's end; one whose run moved on is kept
/// as an orphan record; a file left behind is not replayed twice; another store's is left alone.
@Suite(.serialized) struct SpillReplayTests {
    let fixture: StoreFixture
    let spills: String

    init() throws {
        fixture = try StoreFixture(.postgres)
        spills = fixture.directory + "/spill"
    }

    func open() async throws -> PostgresStore {
        let address = try #require({ if case .postgres(let address) = try StoreURL(fixture.url) { address } else { nil } }())
        return try await PostgresStore.open(address, password: fixture.environment["GOLIVE_STORE_PASSWORD"], spillDirectory: spills)
    }

    /// A run with `count` events in the store, holding the lock of `environment`; returns its token.
    func recorded(_ store: PostgresStore, _ runID: String, count: Int, environment: String) async throws -> String {
        let journal = try await store.journal(runID: runID)
        _ = try await journal.append(Events.started(runID, environment: environment))
        let lock = try #require(store.environmentLock)
        let token = try await lock.acquire(LockRequest(environment: environment, runID: runID, operatorName: "ana", reason: "x", lease: .seconds(30)))
        await journal.adopt(fence: token)
        for _ in 1..<count { _ = try await journal.append(Events.step(runID, host: "web1")) }
        return token
    }

    /// A spill of events `from...through` (the last one the run's end), as a controller cut off
    /// after event `acknowledged` would have written it.
    func spill(_ store: PostgresStore, _ runID: String, fence: String, acknowledged: Int64, from: Int64, through: Int64) throws -> String {
        let journal = try SpillJournal.create(
            in: spills,
            header: .init(
                id: StoreTokens.random(), runID: runID, store: store.storeID.withLock { $0 }, fence: fence, acknowledged: acknowledged,
                controller: "laptop pid 42", created: Date()))
        try journal.append(
            (from...through).map { number in
                var event = number == through ? Events.finished(runID, status: "rolled-back", exitCode: 1) : Events.step(runID, host: "web2")
                event.runID = runID
                event.sequence = number
                return event
            })
        return journal.path
    }

    @Test func aSpillOfAThousandEventsJoinsItsRunInOrderOnceAndReleasesItsLock() async throws {
        defer { fixture.remove() }
        let store = try await open()
        let runID = "20261202-120000-join"
        let token = try await recorded(store, runID, count: 5, environment: "prod")
        // Events 4 and 5 were committed but their answer was lost: the spill has them too.
        let path = try spill(store, runID, fence: token, acknowledged: 3, from: 4, through: 1004)
        let copy = path + ".kept"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let started = ContinuousClock.now
        let results = await store.replaySpills()
        let took = ContinuousClock.now - started
        print("replayed a spill of 1,001 events (999 new) in \(took)")
        let replay = try #require(try results.first?.result.get())
        #expect(replay.outcome == .merged && replay.events == 999 && replay.releasedLock, "\(replay)")
        #expect(!FileManager.default.fileExists(atPath: path))
        let events = try await store.events(runID: runID)
        #expect(events.map(\.sequence) == (1...1004).map { Optional(Int64($0)) })
        #expect(try await store.run(runID)?.status == "rolled-back")
        #expect(try await store.environmentLock?.holder(of: "prod") == nil, "the run's lock was not released")
        // The same file again (left behind by a crash after the commit): nothing changes.
        try FileManager.default.moveItem(atPath: copy, toPath: path)
        let again = try #require(try await store.replaySpills().first?.result.get())
        #expect(again.outcome == .alreadyReplayed)
        #expect(try await store.events(runID: runID).count == 1004)
        #expect(try await store.orphans(runID: runID).isEmpty)
        await store.close()
    }

    @Test func aSpillWhoseRunMovedOnIsKeptAsAnOrphanRecord() async throws {
        defer { fixture.remove() }
        let store = try await open()
        let runID = "20261202-120000-took"
        let token = try await recorded(store, runID, count: 3, environment: "prod")
        let path = try spill(store, runID, fence: token, acknowledged: 3, from: 4, through: 10)
        // Taken over meanwhile: a new fence, and events of the new controller after 3.
        let lock = try #require(store.environmentLock)
        let newer = try await lock.acquire(
            LockRequest(environment: "prod", runID: runID, operatorName: "bo", reason: "resume", lease: .seconds(30), replacing: token))
        let journal = try await store.journal(runID: runID)
        await journal.adopt(fence: newer)
        _ = try await journal.append(RunEvent(runID: runID, kind: .runResumed))
        // Another store's spill in the same directory is left alone.
        let foreign = try SpillJournal.create(
            in: spills, header: .init(id: "f", runID: runID, store: "another-store", fence: token, acknowledged: 0, controller: "x", created: Date()))
        let results = await store.replaySpills()
        #expect(results.count == 1)
        let replay = try #require(try results.first?.result.get())
        #expect(replay.outcome == .orphan && replay.events == 7, "\(replay)")
        #expect(!FileManager.default.fileExists(atPath: path) && FileManager.default.fileExists(atPath: foreign.path))
        #expect(try await store.events(runID: runID).count == 4, "the orphan joined the timeline")
        let orphan = try #require(try await store.orphans(runID: runID).first)
        #expect(orphan.events.map(\.sequence) == (4...10).map { Optional(Int64($0)) } && orphan.controller == "laptop pid 42")
        #expect(try await lock.holder(of: "prod")?.token == newer, "the new controller's lock was touched")
        await store.close()
    }

    @Test func aSpillItsControllerIsStillWritingIsLeftForLater() async throws {
        defer { fixture.remove() }
        let store = try await open()
        let runID = "20261202-120000-live"
        let token = try await recorded(store, runID, count: 2, environment: "prod")
        var live: SpillJournal? = try SpillJournal.create(
            in: spills,
            header: .init(
                id: StoreTokens.random(), runID: runID, store: store.storeID.withLock { $0 }, fence: token, acknowledged: 2,
                controller: "laptop pid 42", created: Date()))
        var third = Events.step(runID, host: "web1")
        third.sequence = 3
        try live?.append([third])
        let busy = await store.replaySpills()
        #expect(busy.count == 1)
        #expect((try? busy.first?.result.get()) == nil, "a spill still being written was replayed")
        #expect(try await store.events(runID: runID).count == 2)
        // Its controller gone (the hold goes with it), the next replay takes it.
        live = nil
        let replay = try #require(try await store.replaySpills().first?.result.get())
        #expect(replay.outcome == .merged && replay.events == 1)
        #expect(try await store.events(runID: runID).count == 3)
        await store.close()
    }

    @Test func aSpillOfARunTheStoreNeverHeldIsKeptAsAFile() async throws {
        defer { fixture.remove() }
        let store = try await open()
        let path = try spill(store, "20261202-120000-none", fence: "1-abc", acknowledged: 3, from: 4, through: 6)
        let results = await store.replaySpills()
        let failure = try #require(results.first.map { (try? $0.result.get()) == nil ? "\($0.result)" : nil } ?? nil, "replayed: \(results)")
        #expect(failure.contains("not in this store"), "\(failure)")
        #expect(FileManager.default.fileExists(atPath: path), "the only copy of the events was removed")
        #expect(try await store.orphans(runID: "20261202-120000-none").isEmpty)
        #expect(try await store.run("20261202-120000-none") == nil)
        await store.close()
    }

    @Test func aSpillWithAGapIsKeptAsAnOrphanThatSaysSo() async throws {
        defer { fixture.remove() }
        let store = try await open()
        let runID = "20261202-120000-gap"
        let token = try await recorded(store, runID, count: 3, environment: "prod")
        _ = try spill(store, runID, fence: token, acknowledged: 5, from: 6, through: 8)
        let replay = try #require(try await store.replaySpills().first?.result.get())
        #expect(replay.outcome == .orphan && "\(replay)".contains("does not continue") && !"\(replay)".contains("lost the run"), "\(replay)")
        #expect(try await store.events(runID: runID).count == 3)
        await store.close()
    }

    @Test func aSpillHoldingAnotherRunsEventsIsNotReplayed() async throws {
        defer { fixture.remove() }
        let store = try await open()
        let token = try await recorded(store, "20261202-120000-mine", count: 3, environment: "prod")
        _ = try await recorded(store, "20261202-120000-else", count: 2, environment: "stage")
        var journal: SpillJournal? = try SpillJournal.create(
            in: spills,
            header: .init(
                id: StoreTokens.random(), runID: "20261202-120000-mine", store: store.storeID.withLock { $0 }, fence: token,
                acknowledged: 3, controller: "laptop pid 42", created: Date()))
        let path = try #require(journal?.path)
        var stranger = Events.step("20261202-120000-else", host: "web9")
        stranger.sequence = 4
        try journal?.append([stranger])
        journal = nil
        let results = await store.replaySpills()
        #expect(results.count == 1 && (try? results.first?.result.get()) == nil, "\(results)")
        let said = "\(results.first?.result as Any)"
        #expect(said.contains("holds an event of run 20261202-120000-else"), "\(said)")
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try await store.events(runID: "20261202-120000-else").count == 2, "another run's timeline was written")
        #expect(try await store.events(runID: "20261202-120000-mine").count == 3)
        await store.close()
    }

    @Test func nothingJoinsARunAfterItsEnd() async throws {
        defer { fixture.remove() }
        let store = try await open()
        let runID = "20261202-120000-done"
        let token = try await recorded(store, runID, count: 3, environment: "prod")
        let journal = try await store.journal(runID: runID)
        await journal.adopt(fence: token)
        _ = try await journal.append(Events.finished(runID, status: "succeeded", exitCode: 0))
        _ = try spill(store, runID, fence: token, acknowledged: 4, from: 5, through: 8)
        let replay = try #require(try await store.replaySpills().first?.result.get())
        #expect(replay.outcome == .orphan && "\(replay)".contains("after the run's end"), "\(replay)")
        #expect(try await store.events(runID: runID).count == 4)
        #expect(try await store.run(runID)?.status == "succeeded")
        await store.close()
    }
}
