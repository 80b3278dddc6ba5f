import ArgumentParser
import Engine
import Foundation
import Store

/// `golive store sync|export|import|migrate`: a team store's spill journals replayed, and a
/// team's history moved between stores (a SQLite file and PostgreSQL, either way).
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Replay spill journals into the team store; move history between stores.",
        subcommands: [StoreSyncCommand.self, StoreExportCommand.self, StoreImportCommand.self, StoreMigrateCommand.self])
}

/// `golive store sync`: replays this machine's spill journals into the store they were written for.
struct StoreSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Replay this machine's spill journals (~/.golive/spill) into the team store they belong to.")

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let url = try StoreLocation.url(storeOptions.store, besidePlaybook: nil)
        guard case .postgres = url else {
            print("\(url) is a local file: it never spills (only a team store does)")
            return
        }
        // Opening the store replays what it can, and says so.
        let store = try await RunDriver.openStore(url)
        defer { Task { await store.close() } }
        try await RunDriver.requireWritable(store)
        let left = SpillJournal.files(in: SpillJournal.directory())
        if left.isEmpty { print("no spill journal left in \(SpillJournal.directory())") }
        var refused = false
        for path in left {
            switch (store as? PostgresStore)?.standing(ofSpill: path) ?? .damaged {
            case .damaged:
                print("kept: \(path) is damaged (not a spill journal golive can read): nothing of it was replayed; look at it, then move it away")
                refused = true
            case .ours(let runID):
                print("kept: \(path) (run \(runID)): not replayable yet, as said above")
                refused = true
            case .another(let runID, let other):
                print("kept: \(path) (run \(runID)) belongs to another store (id \(other))")
            }
        }
        if refused { throw ExitStatus.refused.exitCode }
    }
}

/// `golive store export`: every run of a store as JSON lines.
struct StoreExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write every run of a store (events and orphan records) as JSON lines, oldest first.")

    @OptionGroup var storeOptions: StoreOptions
    @Option(name: [.customShort("o"), .long], help: "Write to this file instead of stdout.") var output: String?

    func run() async throws {
        let store = try await storeOptions.open()
        let data = try await Self.export(store)
        await store.close()
        if let output {
            do {
                try data.write(to: URL(fileURLWithPath: output))
            } catch {
                let why = (error as NSError).userInfo[NSUnderlyingErrorKey].map { "\($0)" } ?? error.localizedDescription
                Terminal.error("error: cannot write \(output): \(why)")
                throw ExitStatus.invalidInput.exitCode
            }
            print("wrote \(output)")
        } else {
            Terminal.out(data)
        }
    }

    /// The export of `store`: a line per run, oldest first.
    static func export(_ store: any RunStore) async throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var data = Data()
        for record in try await store.runs(limit: 1_000_000, kind: nil).reversed() {
            let run = ExportedRun(
                run: record.id, events: try await store.events(runID: record.id), orphans: try await store.orphans(runID: record.id))
            data += try encoder.encode(run) + Data("\n".utf8)
        }
        return data
    }
}

/// `golive store import FILE`: the runs of an export into a store.
struct StoreImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Read runs from an export into a store; a run it already holds is left as it is.")

    @Argument(help: "The export (JSON lines from `golive store export`).") var file: String
    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let runs: [ExportedRun]
        do {
            runs = try ExportedRun.parse(try Data(contentsOf: URL(fileURLWithPath: file)), file: file)
        } catch let problem as ExportedRun.Problem {
            Terminal.error("error: \(problem)")
            throw ExitStatus.invalidInput.exitCode
        } catch {
            Terminal.error("error: \(file): \(error.localizedDescription)")
            throw ExitStatus.invalidInput.exitCode
        }
        let url = try StoreLocation.url(storeOptions.store, besidePlaybook: nil)
        let store = try await RunDriver.openStore(url)
        try await RunDriver.requireWritable(store)
        let (imported, skipped) = try await Self.load(runs, into: store)
        await store.close()
        print("imported \(imported) run\(imported == 1 ? "" : "s") into \(url)" + (skipped.isEmpty ? "" : "; already there, left as they are: \(skipped.joined(separator: ", "))"))
    }

    /// Writes `runs` into `store`, each whole in one transaction (the rows derived from its events
    /// exactly as when it was recorded); a run the store already has is skipped.
    static func load(_ runs: [ExportedRun], into store: any RunStore) async throws -> (imported: Int, skipped: [String]) {
        var imported = 0
        var skipped: [String] = []
        for run in runs {
            let present = try await store.run(run.run)?.id == run.run
            let recorded = try await store.events(runID: run.run)
            if present || !recorded.isEmpty {
                skipped.append(run.run)
                continue
            }
            do {
                try await store.load(events: run.events, orphans: run.orphans)
            } catch {
                Terminal.error("error: run \(run.run) could not be written, and nothing of it was (\(error))" + (imported > 0 ? "; the \(imported) run\(imported == 1 ? "" : "s") before it were" : ""))
                throw ExitStatus.refused.exitCode
            }
            imported += 1
        }
        return (imported, skipped)
    }
}

/// `golive store migrate --from URL --to URL`: export and import in one step.
struct StoreMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Copy every run of one store into another (a SQLite file into PostgreSQL, or back).")

    @Option(name: .long, help: "The store to copy from.") var from: String
    @Option(name: .long, help: "The store to copy into.") var to: String

    func run() async throws {
        let source = try StoreLocation.url(from, besidePlaybook: nil)
        let target = try StoreLocation.url(to, besidePlaybook: nil)
        guard source.exists else {
            Terminal.error("error: no timeline store at \(source)")
            throw ExitStatus.invalidInput.exitCode
        }
        let reading = try await RunDriver.openStore(source)
        let data = try await StoreExportCommand.export(reading)
        await reading.close()
        let runs: [ExportedRun]
        do {
            runs = try ExportedRun.parse(data, file: "\(source)")
        } catch {
            Terminal.error("error: \(error); nothing was copied")
            throw ExitStatus.invalidInput.exitCode
        }
        let writing = try await RunDriver.openStore(target)
        try await RunDriver.requireWritable(writing)
        let (imported, skipped) = try await StoreImportCommand.load(runs, into: writing)
        await writing.close()
        print("copied \(imported) run\(imported == 1 ? "" : "s") from \(source) into \(target)" + (skipped.isEmpty ? "" : "; already there, left as they are: \(skipped.joined(separator: ", "))"))
    }
}
