import ArgumentParser
import Console
import Engine
import Foundation
import Playbook
import SSHTransport
import Store
import System

/// Options for the commands that read the timeline store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The timeline store: a file, sqlite:PATH or postgres://USER@HOST:PORT/DB (default: $GOLIVE_STORE, else .golive/golive.sqlite in this directory).")
    var store: String?

    /// Opens the store to read: one that does not exist yet is an error (exit 2).
    func open(retry: Duration = .seconds(60)) async throws -> any RunStore {
        let url = try StoreLocation.url(store, besidePlaybook: nil)
        guard url.exists else {
            Terminal.error("error: no timeline store at \(url) (use --store or GOLIVE_STORE)")
            throw ExitStatus.invalidInput.exitCode
        }
        return try await RunDriver.openStore(url, retry: retry)
    }

    /// Writes `data` to `path` (and says so) or stdout. Text for people (`text` true: plain text, Markdown, HTML)
    /// has its control characters made visible first: what hosts printed can never drive the
    /// terminal of whoever reads the record, nor hide inside a file shown later. JSON escapes its own.
    static func deliver(_ data: Data, to path: String?, text: Bool) throws {
        let data = text ? Data(TerminalText.visible(String(decoding: data, as: UTF8.self)).utf8) : data
        if let path {
            try data.write(to: URL(fileURLWithPath: path))
            print("wrote \(path)")
        } else {
            Terminal.out(data)
        }
    }

    func run(_ store: any RunStore, _ id: String?) async throws -> RunRecord {
        if let id {
            guard let run = try await store.run(id) else {
                // A prefix more than one run has is not "no run": say which it could be.
                let matching = try await store.runs(limit: 100_000, kind: nil).map(\.id).filter { $0.hasPrefix(id) }
                if matching.count > 1 {
                    Terminal.error(
                        "error: '\(id)' is the start of \(matching.count) runs' ids in \(store.location) ("
                            + matching.prefix(5).joined(separator: ", ") + (matching.count > 5 ? ", ..." : "") + "): give more of it")
                } else {
                    Terminal.error("error: no run '\(id)' in \(store.location)")
                }
                throw ExitStatus.invalidInput.exitCode
            }
            return run
        }
        guard let newest = try await store.runs(limit: 1, kind: nil).first else {
            Terminal.error("error: the store \(store.location) holds no run yet")
            throw ExitStatus.invalidInput.exitCode
        }
        return newest
    }
}

/// `golive runs`: list runs.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List runs: id, playbook, environment, kind, status, start, duration, who.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "Rehearsals only.") var rehearsals = false
    @Option(name: .long, help: "How many.") var limit = 30
    @Flag(name: .long, help: "JSON lines.") var json = false

    func run() async throws {
        let store = try await storeOptions.open()
        let recorded = try await store.runs(limit: limit, kind: rehearsals ? "rehearse" : nil)
        // One lock lookup per environment, not per run.
        var holders: [String: LockHeld?] = [:]
        var runs: [RunRecord] = []
        for var run in recorded {
            if holders[run.environment] == nil {
                holders[run.environment] = .some((try? await store.environmentLock?.holder(of: run.environment)) ?? nil)
            }
            run.status = Self.shownStatus(run, holder: holders[run.environment] ?? nil)
            runs.append(run)
        }
        if json {
            // The recorded status stays as recorded; a lost controller is a field of its own.
            for (run, shown) in zip(recorded, runs) {
                let item: [String: Any] = [
                    "id": run.id, "playbook": run.playbook, "environment": run.environment, "kind": run.kind, "status": run.status,
                    "started": Timestamp.seconds(run.started), "duration_s": run.duration, "operator": run.operatorName,
                    "exit_code": run.exitCode as Any, "controller_lost": shown.status == "controller lost?",
                ]
                let data = try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        print("ID                    KIND      STATUS           ENV          STARTED               DURATION  WHO        PLAYBOOK")
        for run in runs {
            print(TerminalText.visible(
                run.id.padding(toLength: 21, withPad: " ", startingAt: 0) + " "
                    + run.kind.padding(toLength: 9, withPad: " ", startingAt: 0) + " "
                    + run.status.padding(toLength: 16, withPad: " ", startingAt: 0) + " "
                    + run.environment.padding(toLength: 12, withPad: " ", startingAt: 0) + " "
                    + Timestamp.seconds(run.started).padding(toLength: 21, withPad: " ", startingAt: 0) + " "
                    + String(format: "%7.1fs", run.duration) + "  "
                    + run.operatorName.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + run.playbook))
        }
    }
}

extension RunsCommand {
    /// A run recorded as running whose controller no longer holds its lease (or is gone) is
    /// shown as `controller lost?`: it needs `golive resume RUN` or `golive resume RUN --rollback`.
    static func shownStatus(_ run: RunRecord, holder: LockHeld?) -> String {
        guard run.status == "running" else { return run.status }
        if let holder, holder.runID == run.id {
            let gone = holder.controllerProcess.flatMap { ControllerLiveness.isAlive(host: $0.host, pid: $0.pid) } == false
            return holder.isStale() || gone ? "controller lost?" : "running"
        }
        if let process = ControllerLiveness.process(in: run.controller), ControllerLiveness.isAlive(host: process.host, pid: process.pid) == true {
            return "running"
        }
        return "controller lost?"
    }
}

/// `golive timeline RUN`: the events of a run as text, JSON or HTML.
struct TimelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline", abstract: "Show a run's timeline as text, JSON or a self-contained HTML page.")

    enum Format: String, ExpressibleByArgument { case text, json, html }

    @Argument(help: "The run id (or a unique prefix); default: the newest run.") var run: String?
    @OptionGroup var storeOptions: StoreOptions
    @Option(name: .long, help: "text, json or html.") var format: Format = .text
    @Option(name: [.customShort("o"), .long], help: "Write to this file instead of stdout.") var output: String?
    @Flag(
        name: .long,
        help: "Show the orphan records kept beside the run instead (events of a controller that had lost the run, never merged into it).")
    var orphans = false

    func run() async throws {
        let store = try await storeOptions.open()
        let record = try await storeOptions.run(store, run)
        let kept = try await store.orphans(runID: record.id)
        if orphans { return try show(kept, of: record) }
        let renderer = TimelineRenderer(run: record, events: try await store.events(runID: record.id))
        var data: Data
        switch format {
        case .text:
            data = Data(renderer.text().utf8)
            if !kept.isEmpty {
                data += Data(
                    ("\n\(kept.count) orphan record\(kept.count == 1 ? "" : "s") beside this run (events of a controller that had lost it, "
                        + "not merged): golive timeline \(record.id) --orphans\n").utf8)
            }
        case .json: data = try renderer.json()
        case .html: data = Data(renderer.html().utf8)
        }
        try StoreOptions.deliver(format == .json ? data + Data("\n".utf8) : data, to: output, text: format != .json)
    }

    /// The orphan records, each with its events as a timeline of its own.
    private func show(_ kept: [OrphanRecord], of record: RunRecord) throws {
        if format == .json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.dateEncodingStrategy = .iso8601
            return try StoreOptions.deliver(try encoder.encode(kept) + Data("\n".utf8), to: output, text: false)
        }
        var text = kept.isEmpty ? "no orphan record beside run \(record.id)\n" : ""
        for orphan in kept {
            text += "orphan record \(orphan.id) of run \(orphan.runID): \(orphan.events.count) events written by \(orphan.controller) "
                + "from \(Timestamp.seconds(orphan.created)) after it had lost the run; replayed \(Timestamp.seconds(orphan.replayed)) "
                + "by \(orphan.replayedBy); NOT part of the run's timeline\n"
            text += TimelineRenderer(run: record, events: orphan.events).text() + "\n"
        }
        try StoreOptions.deliver(Data(text.utf8), to: output, text: true)
    }
}

/// `golive unlock ENVIRONMENT --reason TEXT`: release a stale lock, on purpose and on the record.
struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock", abstract: "Release an environment's lock (recorded on the holder's timeline).")

    @Argument(help: "The environment.") var environment: String
    @Option(name: .long, help: "Why (recorded).") var reason: String
    @Option(
        name: [.customShort("i"), .long],
        help: "The inventory whose hosts' lock directories are removed too (default: the one the holder's run used).")
    var inventory: String?
    @Flag(name: .long, help: "Release the lock even though its holder's lease is fresh (its run is alive).") var force = false
    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let url = try StoreLocation.url(storeOptions.store, besidePlaybook: nil)
        let store: any RunStore = url.exists ? try await RunDriver.openStore(url) : MemoryStore()
        try await RunDriver.requireWritable(store)
        // Without -i, the hosts' locks are released through the inventory the holder's run recorded.
        var inventoryPaths = inventory.map { [$0] }
        if inventoryPaths == nil, let holder = try await store.environmentLock?.holder(of: environment),
            let recorded = RunState.replay((try? await store.events(runID: holder.runID)) ?? [], runID: holder.runID).info?.inventoryList
        {
            if let gone = recorded.first(where: { !FileManager.default.fileExists(atPath: $0) }) {
                Terminal.error(
                    "warning: the inventory run \(holder.runID) used (\(gone)) is gone: the hosts' locks stay; "
                        + "release them with `golive unlock \(environment) -i INVENTORY --reason ...`")
            } else {
                inventoryPaths = recorded
            }
        }
        let loaded = try inventoryPaths.map { try InputLoader.loadInventory($0, environment: environment, json: false, requireSecrets: false) }
        let transport = loaded.map { SSHTransport(inventory: $0) }
        defer { transport?.shutdown() }
        let session = RunSession(store: store, transport: transport ?? SSHTransport(inventory: Inventory.empty(environment: environment)))
        let report = try await session.unlock(
            environment: environment, operatorName: await RunDriver.recordedIdentity(store), reason: reason, hosts: loaded?.hosts ?? [],
            force: force)
        if let refused = report.refused {
            Terminal.error("error: \(refused); nothing was released")
            throw ExitStatus.refused.exitCode
        }
        if !(store is MemoryStore) {
            if let held = report.released {
                print("released the lock on \(environment) held by run \(held.runID) (\(held.holder) on \(held.controller)); recorded on its timeline")
            } else {
                print("\(environment) was not locked in \(url)")
            }
        }
        for host in loaded?.hosts ?? [] { print("  \(host.name): \(report.hosts[host.name] ?? "?")") }
        // A lock this login could not remove is still there: not a success.
        if report.hosts.values.contains(where: { $0.hasPrefix("NOT released") }) { throw ExitStatus.needsAttention.exitCode }
    }
}
