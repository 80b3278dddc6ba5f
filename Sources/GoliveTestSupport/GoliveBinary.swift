import Foundation
import System

/// The built `golive` executable, run as a user would.
public struct GoliveBinary: Sendable {
    /// The package's root directory.
    public let root: String
    /// The executable.
    public let path: String

    /// Finds the binary built beside the tests (`.build/debug/golive`).
    public init(file: String = #filePath) {
        var url = URL(fileURLWithPath: file)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        root = url.path
        path = root + "/.build/debug/golive"
    }

    /// Runs `golive ARGS` to completion; returns the exit code and combined output.
    public func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try ChildProcess.run(path, arguments, environment: environment)
    }

    /// The run id in the output of a `--json` run (its first event), if any.
    public static func runID(in output: String) -> String? {
        for line in output.split(separator: "\n") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let id = object["runID"] as? String {
                return id
            }
        }
        return nil
    }

    /// The events of a run (the newest when `id` is nil) as `golive timeline --format json` gives them.
    ///
    /// - Throws: when the command's output is not a timeline document.
    public func timelineEvents(_ id: String?, store: String, environment: [String: String] = [:]) throws -> [[String: Any]] {
        let output = try run(["timeline"] + (id.map { [$0] } ?? []) + ["--store", store, "--format", "json"], environment: environment).output
        guard let document = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
            let events = document["events"] as? [[String: Any]]
        else { throw TimelineOutputError(output: String(output.suffix(2000))) }
        return events
    }

    /// `golive timeline --format json` printed something else than a timeline.
    public struct TimelineOutputError: Error, CustomStringConvertible {
        /// The end of what it printed.
        public var output: String
        public var description: String { "not a timeline document: \(output)" }
    }

    /// Starts `golive ARGS` in the background with output to a file.
    public func start(_ arguments: [String], output: String, environment: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess(path, arguments, stdout: output, stderr: output, environment: environment)
    }
}
