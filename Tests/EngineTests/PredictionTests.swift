import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// Rehearse, predict, run: the prediction is close, and a run that cannot fit its window is refused.
@Suite(.serialized) struct PredictionTests {
    let live: LiveHosts
    static let webapp = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("playbooks/webapp.yml").path

    init() throws { live = try LiveHosts(count: 4) }

    private func windowed(endingIn seconds: TimeInterval, reserve: String) throws -> String {
        let formatter = ISO8601DateFormatter()
        let text = try String(contentsOfFile: Self.webapp, encoding: .utf8)
            .replacingOccurrences(of: "files/webapp/", with: URL(fileURLWithPath: Self.webapp).deletingLastPathComponent().path + "/files/webapp/")
            .replacingOccurrences(
                of: "prechecks:",
                with: "window: { start: \"\(formatter.string(from: Date().addingTimeInterval(-60)))\", end: \"\(formatter.string(from: Date().addingTimeInterval(seconds)))\", rollback_reserve: \(reserve) }\nprechecks:")
        return try live.write(text, name: "windowed-\(Int(seconds)).yml")
    }

    @Test func aRehearsalPredictsTheRunAndRefusesOneThatCannotFit() async throws {
        let (rehearsal, rehearsed) = try await live.execute(Self.webapp, vars: ["version": .string("2.0.0")], kind: .rehearse) {
            $0.rollbackAfter = true
        }
        #expect(rehearsal.exitCode == 0)
        let prediction = try #require(Prediction.from(rehearsal: rehearsed, batches: 2))
        #expect(prediction.rollback != nil)

        // A window that leaves plenty of time: the run goes ahead and takes about what was predicted.
        let roomy = try windowed(endingIn: 3600, reserve: "1m")
        let (run, events) = try await live.execute(roomy) { $0.prediction = prediction }
        #expect(run.exitCode == 0)
        let start = try #require(events.first { $0.kind == .runStarted }?.time)
        let end = try #require(events.last { $0.kind == .batchFinished }?.time)
        let actual = end.timeIntervalSince(start)
        let error = abs(actual - prediction.run) / prediction.run
        #expect(error < 0.5, "predicted \(prediction.run)s, took \(actual)s")
        #expect(events.contains { $0.kind == .prediction && $0.status == "fits" })

        // A window too short for the rehearsed time: refused before any change, unless overridden.
        let tight = try windowed(endingIn: prediction.run / 2 + 2, reserve: "1s")
        let (refused, refusedEvents) = try await live.execute(tight, vars: ["version": .string("2.1.0")]) { $0.prediction = prediction }
        #expect(refused.exitCode == 3)
        #expect(refused.reason?.contains("cannot fit the window") == true)
        #expect(!refusedEvents.contains { $0.kind == .stepStarted })
        #expect(["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) == "2.0.0" })
    }
}
