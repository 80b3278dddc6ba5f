import Engine
import Foundation
import GRDB

/// The local journal a run writes when its team store stays unreachable past the retry time: a
/// private SQLite file per run (`~/.golive/spill/RUN-XXXX.sqlite`, 0600 in a 0700 directory)
/// holding the events the store did not get, in order, with what a replay must check — the
/// store they belong to, the run, the fence (the lock token) the controller held, and the last
/// event the store had acknowledged. ``SpillReplay`` puts them into the store later.
public final class SpillJournal: Sendable {
    /// The file.
    let path: String
    private let queue: DatabaseQueue
    /// Held (`flock`, exclusive) while the file is being written, and while it is replayed: a
    /// replay never takes a spill its controller is still writing, nor one another replay has.
    private let hold: Int32

    /// Where spill files are kept: `$GOLIVE_SPILL_DIR`, else `~/.golive/spill`.
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["GOLIVE_SPILL_DIR"], !explicit.isEmpty { return explicit }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.golive/spill"
    }

    /// What a spill file says of itself.
    struct Header: Sendable, Equatable {
        /// A name for this spill, unique across machines (recorded with the replay).
        var id: String
        var runID: String
        /// The store's own id (`golive.store`): a spill is replayed into that store only.
        var store: String
        /// The lock token the controller held (nil: it held none).
        var fence: String?
        /// The last sequence number the store acknowledged.
        var acknowledged: Int64
        /// `HOST pid PID`.
        var controller: String
        var created: Date
    }

    /// Creates the spill file for `header.runID` in `directory`.
    static func create(in directory: String, header: Header) throws -> SpillJournal {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            let why = (error as NSError).userInfo[NSUnderlyingErrorKey].map { "\($0)" } ?? error.localizedDescription
            throw StoreError(message: "the spill journal cannot be made: the directory \(directory) cannot be created (\(why.contains("Not a directory") || why.contains("20") ? "a part of its path is a file" : why))")
        }
        chmod(directory, 0o700)
        let name = String(header.runID.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") ? $0 : "_" })
        let path = directory + "/\(name)-\(header.id.suffix(8)).sqlite"
        let journal = try SpillJournal(path: path, hold: try Self.hold(path, creating: true))
        try journal.queue.write { db in
            for (key, value) in header.fields { try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [key, value]) }
        }
        return journal
    }

    /// An exclusive hold on `path` (its descriptor), or nil when another process holds it.
    static func hold(_ path: String, creating: Bool = false) throws -> Int32 {
        let mask = umask(0o077)
        let descriptor = Glibc.open(path, O_RDWR | O_CLOEXEC | (creating ? O_CREAT | O_EXCL : 0), 0o600)
        umask(mask)
        guard descriptor >= 0 else {
            throw StoreError(message: "cannot open the spill journal \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw SpillBusy(path: path)
        }
        return descriptor
    }

    /// A spill file another process holds: its controller is still writing it, or another command replays it.
    struct SpillBusy: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is being written by a live controller (or replayed by another command): left for later" }
    }

    deinit { close(hold) }

    private init(path: String, hold: Int32) throws {
        self.path = path
        self.hold = hold
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let mask = umask(0o077)
        defer { umask(mask) }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        chmod(path, 0o600)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, event TEXT NOT NULL)")
        }
    }

    /// Appends `events` (numbered) durably, in one transaction; an event already there (the same
    /// number) is kept as it was.
    func append(_ events: [RunEvent]) throws {
        let encoder = Self.encoder
        try queue.write { db in
            for event in events {
                let text = String(decoding: try encoder.encode(event), as: UTF8.self)
                try db.execute(sql: "INSERT OR IGNORE INTO events (seq, event) VALUES (?, ?)", arguments: [event.sequence ?? 0, text])
            }
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }

    /// Events as an orphan record keeps them: a JSON array.
    static func encode(_ events: [RunEvent]) throws -> String { String(decoding: try encoder.encode(events), as: UTF8.self) }

    /// The events of ``encode(_:)``.
    static func decode(_ text: String) throws -> [RunEvent] { try JSONDecoder().decode([RunEvent].self, from: Data(text.utf8)) }

    /// Opens the spill file at `path` to replay it, holding it meanwhile.
    ///
    /// - Throws: ``SpillBusy`` when another process holds it; when it cannot be read.
    static func open(_ path: String) throws -> SpillJournal {
        let descriptor = try hold(path)
        do {
            return try SpillJournal(path: path, hold: descriptor)
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// The spill file's header, without holding it (nil: not a spill file, or unreadable).
    static func header(_ path: String) -> Header? {
        (try? read(path))?.header
    }

    /// The spill file at `path` as it is now, read without holding it (to look at, not to replay).
    static func read(_ path: String) throws -> (header: Header, events: [RunEvent]) {
        var configuration = Configuration()
        configuration.readonly = true
        return try read(DatabaseQueue(path: path, configuration: configuration), path: path)
    }

    /// The header and events of this spill.
    func read() throws -> (header: Header, events: [RunEvent]) { try Self.read(queue, path: path) }

    private static func read(_ queue: DatabaseQueue, path: String) throws -> (header: Header, events: [RunEvent]) {
        try queue.read { db in
            let pairs = try Row.fetchAll(db, sql: "SELECT key, value FROM meta").map { ($0["key"] as String, $0["value"] as String) }
            guard let header = Header(Dictionary(pairs) { first, _ in first }) else {
                throw StoreError(message: "\(path) is not a golive spill file (its header is incomplete)")
            }
            let decoder = JSONDecoder()
            let events = try String.fetchAll(db, sql: "SELECT event FROM events ORDER BY seq").map {
                try decoder.decode(RunEvent.self, from: Data($0.utf8))
            }
            return (header, events)
        }
    }

    /// The spill files in `directory`, oldest first.
    public static func files(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".sqlite") }.sorted().map { directory + "/" + $0 }
    }

    /// Removes a replayed spill file (and SQLite's companions).
    static func remove(_ path: String) {
        for file in [path, path + "-wal", path + "-shm", path + "-journal"] { try? FileManager.default.removeItem(atPath: file) }
    }
}

extension SpillJournal.Header {
    var fields: [(String, String)] {
        [
            ("id", id), ("run", runID), ("store", store), ("acknowledged", String(acknowledged)), ("controller", controller),
            ("created", StoreTime.format(created)),
        ] + (fence.map { [("fence", $0)] } ?? [])
    }

    init?(_ fields: [String: String]) {
        guard let id = fields["id"], let runID = fields["run"], let store = fields["store"],
            let acknowledged = fields["acknowledged"].flatMap({ Int64($0) }), let controller = fields["controller"]
        else { return nil }
        self.init(
            id: id, runID: runID, store: store, fence: fields["fence"], acknowledged: acknowledged, controller: controller,
            created: fields["created"].flatMap(StoreTime.parse) ?? Date())
    }
}

extension SpillJournal {
    /// The `spills` row recording a replayed spill (`orphan`: its events kept; `merged`: counted only).
    static func row(
        _ kind: RowWrite.Kind, id: String, runID: String, merged: Bool, controller: String, fence: String?, acknowledged: Int64,
        events: [RunEvent], count: Int, created: Date, replayed: Date, replayedBy: String
    ) throws -> RowWrite {
        RowWrite(
            kind, "spills",
            [
                "id": .text(id), "run_id": .text(runID), "outcome": .text(merged ? "merged" : "orphan"), "controller": .text(controller),
                "fence": fence.map(StoreValue.text) ?? .null, "acknowledged": .integer(acknowledged),
                "first_seq": events.first?.sequence.map(StoreValue.integer) ?? .null,
                "last_seq": events.last?.sequence.map(StoreValue.integer) ?? .null, "count": .integer(Int64(count)),
                "created": .text(StoreTime.format(created)), "replayed": .text(StoreTime.format(replayed)), "replayed_by": .text(replayedBy),
                "events": merged ? .null : .text(try encode(events)),
            ])
    }
}
