import Foundation
import GoliveTestSupport
import Sandbox
import System
import Testing

@testable import Engine

/// A server's lock through the real scripts and `/bin/sh`: a token replaces another of the same
/// run only when it is of a later generation, and only the token's holder releases it — so a
/// controller that woke up after a takeover can neither take a server back nor free it.
@Suite struct HostLockTests {
    let root: String

    init() throws { root = try TestHosts.makeTemporaryDirectory(name: "hostlock") + "/lock-root" }

    func sh(_ script: String) throws -> [String] {
        let result = try ChildProcess.run("/bin/sh", ["-c", script], environment: ["GOLIVE_LOCK_ROOT": root, "PATH": "/usr/bin:/bin"])
        return result.output.split(separator: "\n").map(String.init)
    }

    func take(_ run: String, _ token: String, recovering: Bool = false) throws -> [String] {
        try sh(HostLock.takeScript(runID: run, info: "run=\(run)", token: token, stopping: recovering ? ["deploy.1.1"] : []))
    }

    func token() -> String? { try? String(contentsOfFile: root + "/lock/token", encoding: .utf8).trimmingCharacters(in: .newlines) }

    @Test func aLaterGenerationTakesOverAndAnEarlierOneIsFencedOut() throws {
        let first = StoreTokens.next(), second = StoreTokens.next(after: first), third = StoreTokens.next(after: second)
        #expect(StoreTokens.generation(of: first) == 1 && StoreTokens.generation(of: third) == 3)
        #expect(try take("r1", first).first == "TAKEN")
        #expect(try take("r1", first).first == "OURS", "its own token again (a retry) is its own lock")
        #expect(try take("r1", second, recovering: true).first == "OURS")
        #expect(token() == second)
        // The first controller, woken: neither its take nor its release touches the lock.
        let late = try take("r1", first)
        #expect(late.first == "FENCED", "\(late)")
        #expect(token() == second)
        _ = try sh(HostLock.releaseScript(runID: "r1", token: first))
        #expect(FileManager.default.fileExists(atPath: root + "/lock"), "an earlier controller released a later one's lock")
        // Two tokens of one generation (two recoveries that were never one after the other): the second is refused.
        #expect(try take("r1", StoreTokens.next(after: first)).first == "FENCED")
        #expect(try take("r1", third).first == "OURS")
        _ = try sh(HostLock.releaseScript(runID: "r1", token: third))
        #expect(!FileManager.default.fileExists(atPath: root + "/lock"))
    }

    @Test func anotherRunsLockIsHeldWhateverItsGeneration() throws {
        #expect(try take("r1", StoreTokens.next()).first == "TAKEN")
        let other = try take("r2", "99-" + StoreTokens.random())
        #expect(other.first == "HELD" && other.contains("run=r1"), "\(other)")
        _ = try sh(HostLock.releaseScript(runID: "r2", token: "99-x"))
        #expect(FileManager.default.fileExists(atPath: root + "/lock"))
    }

    @Test func aTokenWithoutAGenerationIsTheEarliest() throws {
        #expect(StoreTokens.generation(of: StoreTokens.random()) == 0)
        #expect(StoreTokens.generation(of: "12345678901-abc") == 0, "too long to be a generation")
        #expect(StoreTokens.generation(of: StoreTokens.released(after: "4-abc")) == 4)
        #expect(try take("r1", StoreTokens.random()).first == "TAKEN")
        #expect(try take("r1", StoreTokens.next(), recovering: true).first == "OURS")
    }
}
