import Engine
import Foundation
import GoliveTestSupport
import Store

/// A fresh, empty store of either kind: a SQLite file in a private directory, or a new database on
/// the tests' real PostgreSQL server.
struct StoreFixture: Sendable {
    enum Kind: String, CaseIterable, Sendable, CustomStringConvertible {
        case sqlite
        case postgres
        var description: String { rawValue }
    }

    let kind: Kind
    /// The store URL (`--store`).
    let url: String
    /// What a process needs to open it (the password).
    let environment: [String: String]
    /// A private directory.
    let directory: String
    /// The PostgreSQL database, if it is one.
    let database: String?

    init(_ kind: Kind) throws {
        self.kind = kind
        directory = NSTemporaryDirectory() + "golive-store-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        switch kind {
        case .sqlite:
            url = directory + "/golive.sqlite"
            environment = [:]
            database = nil
        case .postgres:
            let server = try PostgresServer.shared()
            let name = try server.createDatabase()
            url = server.url(database: name)
            environment = server.passwordEnvironment
            database = name
        }
    }

    /// Opens the store (another connection each time: as another controller would).
    func open() async throws -> any RunStore {
        try await StoreURL(url).open(environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Events as a run records them.
enum Events {
    static func started(_ runID: String, environment: String = "staging", kind: String = "run", playbookFile: String = "/p/play.yml")
        -> RunEvent
    {
        var details = RunStartedDetails(
            playbook: "release", playbookFile: playbookFile, inventoryFile: "/p/inventory.yml", environment: environment, kind: kind,
            operatorName: "ana", hosts: ["web1", "web2"], batches: [["web1"], ["web2"]], controller: "laptop", pid: 42, stepsPerHost: 1)
        details.vars = "[\"version=2.0.0\"]"
        return RunEvent(runID: runID, kind: .runStarted, details: try? DetailsEncoder().encode(details))
    }

    static func step(_ runID: String, host: String, status: String = "ok", stdout: String = "done\n") -> RunEvent {
        RunEvent(
            runID: runID, kind: .stepFinished, phase: .deploy, batch: 1, host: host, step: "deploy[0]", stepName: "switch", status: status,
            exitCode: status == "ok" ? 0 : 1, command: "ln -sfn /srv/app/releases/2.0.0 /srv/app/current", stdout: stdout, stderr: "",
            durationMS: 12, attempt: 1)
    }

    static func finished(_ runID: String, status: String = "succeeded", exitCode: Int = 0) -> RunEvent {
        RunEvent(runID: runID, kind: .runFinished, status: status, message: "all hosts done", details: ["exit_code": String(exitCode)])
    }
}
