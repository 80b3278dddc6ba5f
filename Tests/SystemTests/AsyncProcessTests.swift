import Foundation
import System
import Testing

/// Processes run from async code: input delivered, output bounded, the group stopped at the
/// timeout, nothing inherited by other processes, no wait on a background child.
struct AsyncProcessTests {
    @Test func stdinArrivesWholeAndEndsSoACommandReadingItFinishes() async throws {
        let input = Data((0..<200_000).map { UInt8($0 % 251) })
        let result = try await AsyncProcess.run("/bin/sh", ["-c", "wc -c"], stdin: input, timeout: .seconds(20))
        #expect(result.status == 0 && !result.timedOut)
        #expect(result.text.trimmingCharacters(in: .whitespacesAndNewlines) == "200000")
    }

    @Test func theTimeoutStopsTheWholeGroupChildrenIncluded() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("async-\(UUID().uuidString)").path
        let begin = ContinuousClock.now
        // A child of the shell that would write the marker after 3 s: stopping the group stops it too.
        let result = try await AsyncProcess.run(
            "/bin/sh", ["-c", "(sleep 3; touch \(marker)) & sleep 30"], timeout: .milliseconds(300), grace: .milliseconds(200))
        #expect(result.timedOut)
        #expect(result.status == 128 + SIGTERM || result.status == 128 + SIGKILL)
        #expect(begin.duration(to: .now) < .seconds(3))
        try await Task.sleep(for: .seconds(3.5))  // past the moment the child would have written
        #expect(!FileManager.default.fileExists(atPath: marker), "a child of the stopped group lived on")
    }

    @Test func outputIsBoundedHeadAndTailWithTheCutSaid() async throws {
        let result = try await AsyncProcess.run(
            "/bin/sh", ["-c", "echo first; head -c 3000000 /dev/zero | tr '\\0' x; echo; echo last"], outputLimit: 1 << 16)
        #expect(result.status == 0 && result.omitted > 2_900_000)
        #expect(result.text.hasPrefix("first\n") && result.text.hasSuffix("last\n") && result.text.contains("bytes cut]"))
        #expect(result.output.count < (1 << 16) + 100)
    }

    @Test func aBackgroundChildHoldingTheOutputIsNotWaitedFor() async throws {
        let begin = ContinuousClock.now
        let result = try await AsyncProcess.run("/bin/sh", ["-c", "sleep 5 & echo started"], timeout: .seconds(20))
        #expect(result.status == 0 && result.text == "started\n")
        #expect(begin.duration(to: .now) < .seconds(4))
    }

    @Test func itsPipesAreNotInheritedByProcessesStartedMeanwhile() async throws {
        // While one process runs, another one started meanwhile holds none of its pipes, nor any
        // other descriptor of this process: only its own 0, 1 and 2 (and the one `ls` opens).
        async let long = AsyncProcess.run("/bin/sh", ["-c", "sleep 1"], stdin: Data(repeating: 0, count: 10), timeout: .seconds(20))
        try await Task.sleep(for: .milliseconds(100))
        let listing = try await AsyncProcess.run("/bin/sh", ["-c", "ls /proc/self/fd"], timeout: .seconds(20))
        _ = try await long
        let descriptors = listing.text.split(separator: "\n").compactMap { Int($0) }
        #expect(descriptors.count <= 4, "\(descriptors)")
    }

    @Test func exitCodesAndSignalsAreReported() async throws {
        #expect(try await AsyncProcess.run("/bin/sh", ["-c", "exit 7"]).status == 7)
        #expect(try await AsyncProcess.run("/bin/sh", ["-c", "kill -KILL $$"]).status == 128 + SIGKILL)
        await #expect(throws: ProcessError.self) { _ = try await AsyncProcess.run("/nonexistent/program", []) }
    }
}
