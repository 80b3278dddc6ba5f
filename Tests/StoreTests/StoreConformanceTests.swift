import Engine
import Foundation
import GoliveTestSupport
@testable import Store
import Testing

/// Every query and guarantee of the store seam, against both stores: the embedded SQLite file and
/// a real PostgreSQL server. What one store does, the other must do the same way.
@Suite struct StoreConformanceTests {
    static let kinds = StoreFixture.Kind.allCases

    @Test(arguments: kinds) func eventsComeBackInOrderWithTheirRunAndItsEnd(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        let runID = "20261202-100000-aaaa"
        let journal = try await store.journal(runID: runID)
        #expect(try await journal.append(Events.started(runID)) == 1)
        // Parallel hosts append at once: every event is stored once, numbered without a gap.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 { group.addTask { try await journal.append(Events.step(runID, host: "web\(index)")) } }
            try await group.waitForAll()
        }
        let running = try #require(try await store.run(runID))
        #expect(running.status == "running" && running.environment == "staging" && running.operatorName == "ana")
        #expect(running.hosts == ["web1", "web2"] && running.controller == "laptop pid 42" && running.kind == "run")
        try await journal.append(Events.finished(runID, status: "rolled-back", exitCode: 1))
        let events = try await store.events(runID: runID)
        #expect(events.map(\.sequence) == (1...42).map { Int64($0) })
        #expect(Set(events.compactMap(\.host)).count == 40)
        let step = try #require(events.first { $0.kind == .stepFinished })
        #expect(step.command == "ln -sfn /srv/app/releases/2.0.0 /srv/app/current" && step.exitCode == 0 && step.durationMS == 12)
        #expect(step.phase == .deploy && step.batch == 1 && step.attempt == 1 && step.stdout == "done\n")
        #expect(try await store.events(runID: runID, after: 40).map(\.sequence) == [41, 42])
        let ended = try #require(try await store.run(runID))
        #expect(ended.status == "rolled-back" && ended.exitCode == 1 && ended.finished != nil && ended.reason == "all hosts done")
        // A journal opened later goes on from the last number.
        let later = try await (try await fixture.open()).journal(runID: runID)
        #expect(try await later.append(RunEvent(runID: runID, kind: .runResumed)) == 43)
        #expect(try await store.run(runID)?.status == "running")
        await store.close()
    }

    @Test(arguments: kinds) func runsAreListedNewestFirstAndFoundByAPrefixOnlyTheyHave(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        for (index, id) in ["20261202-100000-ab01", "20261202-100001-ab02", "20261202-100002-cd03"].enumerated() {
            var started = Events.started(id, kind: index == 1 ? "rehearse" : "run")
            started.time = Date(timeIntervalSince1970: 1_800_000_000 + Double(index))
            try await store.journal(runID: id).append(started)
        }
        #expect(try await store.runs(limit: 10, kind: nil).map(\.id) == ["20261202-100002-cd03", "20261202-100001-ab02", "20261202-100000-ab01"])
        #expect(try await store.runs(limit: 1, kind: nil).map(\.id) == ["20261202-100002-cd03"])
        #expect(try await store.runs(limit: 10, kind: "rehearse").map(\.id) == ["20261202-100001-ab02"])
        #expect(try await store.run("20261202-100002")?.id == "20261202-100002-cd03")
        #expect(try await store.run("20261202-1000") == nil, "ambiguous")
        #expect(try await store.run("%") == nil, "a prefix has no wildcards")
        #expect(try await store.run("_0261202-100002-cd03") == nil, "a prefix has no wildcards")
        #expect(try await store.run("nope") == nil)
        await store.close()
    }

    @Test(arguments: kinds) func derivedRowsFollowTheEvents(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        let runID = "20261202-100000-bbbb"
        let journal = try await store.journal(runID: runID)
        try await journal.append(Events.started(runID))
        let first = BackupDetails(path: "/srv/app/data", archive: "/var/backups/a.tgz", sha256: "aa", bytes: "10", existed: "1")
        let second = BackupDetails(path: "/srv/app/data", archive: "/var/backups/b.tgz", sha256: "bb", bytes: "20", existed: "1")
        for backup in [first, second] {
            try await journal.append(
                RunEvent(runID: runID, kind: .backupRecorded, host: "web1", step: "backup[0]", details: try DetailsEncoder().encode(backup)))
        }
        try await journal.append(
            RunEvent(runID: runID, kind: .backupRecorded, host: "web2", step: "backup[0]", details: try DetailsEncoder().encode(first)))
        // The same host and step recorded again replaces its row: the newest archive is the one restored.
        let artifacts = try await store.artifacts(runID: runID)
        #expect(artifacts.count == 2)
        #expect(artifacts.first { $0.host == "web1" } == Artifact(host: "web1", step: "backup[0]", path: "/srv/app/data", archive: "/var/backups/b.tgz", bytes: 20, sha256: "bb"))
        // Output beyond the limit keeps its head and tail and says how much was cut.
        let big = "head\n" + String(repeating: "x", count: 400_000) + "\ntail\n"
        try await journal.append(Events.step(runID, host: "web1", stdout: big))
        let step = try #require(try await store.events(runID: runID).last)
        #expect((step.stdout?.utf8.count ?? 0) < 140_000 && step.stdout?.hasPrefix("head\n") == true && step.stdout?.hasSuffix("tail\n") == true)
        #expect((step.outputOmitted ?? 0) > 250_000)
        await store.close()
    }

    @Test(arguments: kinds) func plansAndRehearsalsAreKept(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        func entries(_ json: String) throws -> [ResolvedPlan.Entry] { try JSONDecoder().decode([ResolvedPlan.Entry].self, from: Data(json.utf8)) }
        let plan = ResolvedPlan(entries: try entries(#"[{"key":"deploy[0] @web1","value":"ln -sfn a b"}]"#))
        try await store.record(plan: plan, playbookFile: "/p/play.yml", environment: "staging")
        let other = ResolvedPlan(entries: try entries(#"[{"key":"deploy[0] @web1","value":"changed"}]"#))
        #expect(try await store.plan(fingerprint: plan.fingerprint)?.entries == plan.entries)
        try await store.record(plan: plan, playbookFile: "/p/play.yml", environment: "staging")
        #expect(try await store.plan(fingerprint: other.fingerprint) == nil)
        // Rehearsals: finished ones of this playbook, newest first, with a batch done.
        for (index, status) in ["succeeded", "failed", "rolled-back"].enumerated() {
            let id = "20261202-10000\(index)-re0\(index)"
            var started = Events.started(id, kind: "rehearse", playbookFile: "/p/play.yml")
            started.time = Date(timeIntervalSince1970: 1_800_000_000 + Double(index))
            let journal = try await store.journal(runID: id)
            try await journal.append(started)
            try await journal.append(RunEvent(runID: id, kind: .batchFinished, batch: 1, status: "ok"))
            try await journal.append(Events.finished(id, status: status))
        }
        let found = try await store.rehearsals(playbookFile: "/p/play.yml", limit: 5)
        #expect(found.map(\.0.id) == ["20261202-100002-re02", "20261202-100000-re00"])
        #expect(found.first?.1.contains { $0.kind == .batchFinished } == true)
        #expect(try await store.rehearsals(playbookFile: "/p/other.yml", limit: 5).isEmpty)
        await store.close()
    }

    @Test(arguments: kinds) func theLockIsHeldRefreshedTakenOverAndReleased(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let first = try await fixture.open()
        let second = try await fixture.open()
        let lock = try #require(first.environmentLock)
        let other = try #require(second.environmentLock)
        let runID = "20261202-100000-lock"
        let journal = try await first.journal(runID: runID)
        try await journal.append(Events.started(runID))
        let token = try await lock.acquire(LockRequest(environment: "staging", runID: runID, operatorName: "ana", reason: "release", lease: .seconds(30)))
        await journal.adopt(fence: token)
        // Anyone else, through another connection, is refused naming the holder.
        await #expect(throws: LockHeld.self) {
            try await other.acquire(LockRequest(environment: "staging", runID: "20261202-100001-b", operatorName: "bo", reason: "x", lease: .seconds(30)))
        }
        let held = try #require(try await other.holder(of: "staging"))
        #expect(held.runID == runID && held.holder == "ana" && held.token == token && !held.isStale())
        #expect(held.controller.contains(" pid \(getpid())") && abs(held.leaseAge()) < 5 && held.leaseLength == .seconds(30))
        #expect(try await lock.refresh(environment: "staging", token: token))
        #expect(try await !lock.refresh(environment: "staging", token: "not-the-token"))
        // A takeover must name the holder it was decided on.
        await #expect(throws: LockHeld.self) {
            try await other.acquire(
                LockRequest(environment: "staging", runID: runID, operatorName: "bo", reason: "resume", lease: .seconds(30), replacing: "stale"))
        }
        let taken = try await other.acquire(
            LockRequest(environment: "staging", runID: runID, operatorName: "bo", reason: "resume", lease: .seconds(30), replacing: token))
        #expect(taken != token)
        // The first controller's lease and its journal are fenced out.
        #expect(try await !lock.refresh(environment: "staging", token: token))
        await #expect(throws: FencedOut.self) { try await journal.append(Events.step(runID, host: "web1")) }
        let count = try await second.events(runID: runID).count
        #expect(count == 1, "a fenced append wrote nothing")
        // Released by its token, then free for anyone.
        try await other.release(environment: "staging", token: taken)
        #expect(try await lock.holder(of: "staging") == nil)
        let again = try await lock.acquire(LockRequest(environment: "staging", runID: "20261202-100002-c", operatorName: "cy", reason: "x", lease: .seconds(30)))
        #expect(!again.isEmpty)
        await first.close()
        await second.close()
    }

    @Test(arguments: kinds) func aForcedUnlockIsRecordedOnTheHoldersTimelineAndFencesIt(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        let lock = try #require(store.environmentLock)
        let runID = "20261202-100000-unlk"
        let journal = try await store.journal(runID: runID)
        try await journal.append(Events.started(runID))
        let token = try await lock.acquire(LockRequest(environment: "prod", runID: runID, operatorName: "ana", reason: "release", lease: .seconds(30)))
        await journal.adopt(fence: token)
        try await journal.append(Events.step(runID, host: "web1"))
        let released = try await (try await fixture.open()).environmentLock?.forceRelease(
            environment: "prod", operatorName: "bo", reason: "ana's laptop died")
        #expect(released?.runID == runID && released?.holder == "ana")
        let events = try await store.events(runID: runID)
        #expect(events.last?.kind == .lockReleased && events.last?.sequence == 3)
        #expect(events.last?.message == "released by bo with `golive unlock`: ana's laptop died")
        await #expect(throws: FencedOut.self) { try await journal.append(Events.step(runID, host: "web2")) }
        #expect(try await lock.forceRelease(environment: "prod", operatorName: "bo", reason: "again") == nil)
        await store.close()
    }

    @Test(arguments: kinds) func controllersRacingForOneLockGetItOneAtATime(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        var stores: [any RunStore] = []
        for _ in 0..<4 { stores.append(try await fixture.open()) }
        let contenders = stores
        for round in 0..<5 {
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for (index, store) in contenders.enumerated() {
                    group.addTask {
                        do {
                            let request = LockRequest(
                                environment: "race-\(round)", runID: "run-\(round)-\(index)", operatorName: "op\(index)", reason: "race",
                                lease: .seconds(30))
                            return try await store.environmentLock?.acquire(request)
                        } catch is LockHeld {
                            return nil
                        }
                    }
                }
                var tokens: [String] = []
                for try await token in group { if let token { tokens.append(token) } }
                return tokens
            }
            #expect(winners.count == 1, "round \(round): \(winners.count) controllers took one lock")
            let holder = try await contenders[0].environmentLock?.holder(of: "race-\(round)")
            #expect(holder?.token == winners.first)
        }
        for store in stores { await store.close() }
    }

    @Test(arguments: kinds) func twoRunsJournalAtOnceEachWithoutAGap(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let one = try await fixture.open()
        let two = try await fixture.open()
        let ids = ["20261202-100000-two1", "20261202-100000-two2"]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (store, id) in zip([one, two], ids) {
                group.addTask {
                    let journal = try await store.journal(runID: id)
                    try await journal.append(Events.started(id))
                    for index in 0..<100 { try await journal.append(Events.step(id, host: "web\(index)")) }
                }
            }
            try await group.waitForAll()
        }
        for id in ids { #expect(try await one.events(runID: id).map(\.sequence) == (1...101).map { Int64($0) }) }
        await one.close()
        await two.close()
    }

    @Test(arguments: kinds) func aLiveViewIsToldOfAnotherControllersCommit(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let viewer = try await fixture.open()
        let writer = try await fixture.open()
        let before = await viewer.changeMark()
        let journal = try await writer.journal(runID: "20261202-100000-feed")
        try await journal.append(Events.started("20261202-100000-feed"))
        switch kind {
        case .sqlite:
            // A file cannot say: the view reads each time it looks.
            #expect(before == nil)
        case .postgres:
            let start = ContinuousClock.now
            let told = await eventually(timeout: .seconds(5)) { await viewer.changeMark() != before }
            #expect(before != nil && told, "no notification")
            #expect(start.duration(to: .now) < .seconds(1))
        }
        await viewer.close()
        await writer.close()
    }
}

/// What only a shared server has: a controller that stops in the middle of a commit (paused,
/// partitioned) holds row locks there. The server ends its transaction within seconds, the
/// takeover goes through, and the stalled controller's commit fails instead of landing.
@Suite struct PostgresStallTests {
    @Test func aControllerPausedMidCommitDoesNotBlockATakeover() async throws {
        let fixture = try StoreFixture(.postgres)
        defer { fixture.remove() }
        let store = try await fixture.open()
        let runID = "20261202-100000-stal"
        let journal = try await store.journal(runID: runID)
        try await journal.append(Events.started(runID))
        let lock = try #require(store.environmentLock)
        let token = try await lock.acquire(LockRequest(environment: "prod", runID: runID, operatorName: "ana", reason: "x", lease: .seconds(1)))
        // A connection configured as golive's, stopped between its fence check and its commit.
        guard case .postgres(let address) = try StoreURL(fixture.url) else { throw StoreTestError.notPostgres }
        let password = fixture.environment["GOLIVE_STORE_PASSWORD"]
        let stalled = try await PostgresStore.connector(address, password: password)()
        try await stalled.rows("BEGIN", [])
        try await stalled.rows("SELECT fence FROM runs WHERE id = ? FOR UPDATE", [.text(runID)])
        // Another controller takes the run over: it waits for the stalled transaction to be ended, not for ever.
        let other = try await fixture.open()
        let start = ContinuousClock.now
        let taken = try await other.environmentLock?.acquire(
            LockRequest(environment: "prod", runID: runID, operatorName: "bo", reason: "resume", lease: .seconds(30), replacing: token))
        let waited = start.duration(to: .now)
        #expect(taken != nil && waited < .seconds(12), "the takeover waited \(waited)")
        #expect(waited > .seconds(3), "the takeover did not wait for the stalled transaction at all (\(waited))")
        // The stalled controller wakes: what it was committing does not land, and it says so at once.
        let woken = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            try await stalled.rows("INSERT INTO events (run_id, seq, time, kind) VALUES (?, 2, 'x', 'stepStarted')", [.text(runID)])
            try await stalled.rows("COMMIT", [])
        }
        #expect(woken.duration(to: .now) < .seconds(5))
        #expect(try await other.events(runID: runID).count == 1)
        try? await stalled.close()
        await store.close()
        await other.close()
    }
}

extension StoreConformanceTests {
    @Test(arguments: kinds) func anOrphanRecordIsKeptBesideItsRunOnce(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        let runID = "20261202-110000-orph"
        _ = try await (try await store.journal(runID: runID)).append(Events.started(runID))
        var spilled = Events.step(runID, host: "web1")
        spilled.sequence = 7
        let orphan = OrphanRecord(
            id: "spill-1", runID: runID, controller: "laptop pid 9", created: Date(timeIntervalSince1970: 1_800_000_000),
            replayed: Date(timeIntervalSince1970: 1_800_000_100), replayedBy: "desk pid 3", events: [spilled])
        try await store.keep(orphan)
        try await store.keep(orphan)
        let kept = try await store.orphans(runID: runID)
        #expect(kept == [orphan])
        #expect(try await store.events(runID: runID).count == 1, "an orphan record joined the timeline")
        #expect(try await store.orphans(runID: "20261202-110000-none").isEmpty)
    }

    /// A run moved from another store is written whole or not at all: one whose events clash with
    /// what the store holds leaves no row behind.
    @Test(arguments: kinds) func aLoadedRunIsWrittenWholeOrNotAtAll(_ kind: StoreFixture.Kind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.open()
        let runID = "20261202-110000-load"
        let numbered = (1...5).map { number in
            var event = number == 1 ? Events.started(runID) : number == 5 ? Events.finished(runID, status: "succeeded", exitCode: 0) : Events.step(runID, host: "web1")
            event.sequence = Int64(number)
            return event
        }
        var clashing = numbered
        clashing[3].sequence = 3
        await #expect(throws: (any Error).self) { try await store.load(events: clashing, orphans: []) }
        #expect(try await store.run(runID) == nil, "a refused run was half-written")
        #expect(try await store.events(runID: runID).isEmpty, "a refused run was half-written")
        let orphan = OrphanRecord(
            id: "spill-9", runID: runID, controller: "laptop pid 9", created: Date(timeIntervalSince1970: 1_800_000_000),
            replayed: Date(timeIntervalSince1970: 1_800_000_100), replayedBy: "desk pid 3", events: [numbered[2]])
        try await store.load(events: numbered, orphans: [orphan])
        #expect(try await store.events(runID: runID).map(\.sequence) == (1...5).map { Int64($0) })
        #expect(try await store.run(runID)?.status == "succeeded")
        #expect(try await store.orphans(runID: runID) == [orphan])
        await store.close()
    }
}
