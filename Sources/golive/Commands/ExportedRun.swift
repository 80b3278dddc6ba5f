import Engine
import Foundation

/// One run as an export holds it: its events (its timeline, the run's record derives from them)
/// and the orphan records kept beside it.
struct ExportedRun: Codable {
    var run: String
    var events: [RunEvent]
    var orphans: [OrphanRecord]

    /// What is wrong with an export's line, where: `FILE:LINE:COLUMN: what`.
    struct Problem: Error, CustomStringConvertible {
        var file: String
        var line: Int
        var column: Int
        var what: String
        var description: String { "\(file):\(line):\(column): \(what)" }
    }

    /// The runs of the export `data` (read from `file`), each checked whole before any is written:
    /// UTF-8 JSON, one run per line, no run twice, its events numbered 1, 2, 3… without a gap,
    /// all of that run, the first one the run's start.
    ///
    /// - Throws: ``Problem`` at the first line that is not such a run.
    static func parse(_ data: Data, file: String) throws -> [ExportedRun] {
        var runs: [ExportedRun] = []
        var seen: Set<String> = []
        for (index, bytes) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
            func problem(_ column: Int, _ what: String) -> Problem { Problem(file: file, line: index + 1, column: column, what: what) }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw problem(Self.firstInvalidUTF8(bytes) + 1, "not UTF-8 text")
            }
            let run: ExportedRun
            do {
                run = try JSONDecoder().decode(ExportedRun.self, from: Data(bytes))
            } catch let error as DecodingError {
                let (column, what) = Self.explain(error, text: text)
                throw problem(column, "not a run of a golive export: \(what)")
            }
            if let reason = run.fault { throw problem(1, "run \(run.run): \(reason); nothing was imported") }
            guard seen.insert(run.run).inserted else { throw problem(1, "run \(run.run) is in the export twice; nothing was imported") }
            runs.append(run)
        }
        return runs
    }

    /// Why this run cannot be written as it is; nil when it can.
    private var fault: String? {
        guard !run.isEmpty else { return "no run id" }
        guard let first = events.first else { return "it has no events" }
        guard first.kind == .runStarted else { return "its first event is \(first.kind.rawValue), not runStarted" }
        // Years 1970 to 9999: what a timeline can hold and show.
        let times = 0.0...253_402_300_799.0
        for (offset, event) in events.enumerated() {
            guard event.runID == run else { return "event \(offset + 1) belongs to run \(event.runID)" }
            guard times.contains(event.time.timeIntervalSince1970) else { return "event \(offset + 1) has a time outside the years 1970 to 9999" }
            guard event.sequence == Int64(offset + 1) else {
                let found = event.sequence.map(String.init) ?? "no number"
                return "event \(offset + 1) is numbered \(found) (the events must be numbered 1, 2, 3… without a gap)"
            }
        }
        if let orphan = orphans.first(where: { $0.runID != run }) { return "orphan record \(orphan.id) belongs to run \(orphan.runID)" }
        for orphan in orphans {
            let dated = [orphan.created, orphan.replayed] + orphan.events.map(\.time)
            guard dated.allSatisfy({ times.contains($0.timeIntervalSince1970) }) else {
                return "orphan record \(orphan.id) has a time outside the years 1970 to 9999"
            }
            guard orphan.events.allSatisfy({ $0.runID == run }) else { return "orphan record \(orphan.id) holds events of another run" }
        }
        return nil
    }

    /// The column and words of a decoding error on `text`.
    private static func explain(_ error: DecodingError, text: String) -> (Int, String) {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // The decoder does not say where; the parser does ("… around character N").
            do {
                _ = try JSONSerialization.jsonObject(with: Data(text.utf8))
            } catch {
                let said = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? ""
                if let range = said.range(of: #"character (\d+)"#, options: .regularExpression),
                    let offset = Int(said[range].dropFirst("character ".count))
                {
                    return (Self.column(ofUTF8Offset: offset, in: text), "not valid JSON (\(said))")
                }
                return (text.count + 1, "not valid JSON (\(said.isEmpty ? "it ends too early" : said))")
            }
            return (1, "not valid JSON")
        case .dataCorrupted(let context): return (1, "\(path(context)): \(context.debugDescription)")
        case .keyNotFound(let key, let context): return (1, "\(path(context)).\(key.stringValue) is missing")
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return (1, "\(path(context)): \(context.debugDescription)")
        @unknown default: return (1, "\(error)")
        }
    }

    /// The column (in characters, from 1) of byte `offset` of `text`.
    private static func column(ofUTF8Offset offset: Int, in text: String) -> Int {
        let utf8 = text.utf8
        let index = utf8.index(utf8.startIndex, offsetBy: min(offset, utf8.count))
        return text[..<index].count + 1
    }

    /// The offset of the first byte of `bytes` that is not part of valid UTF-8.
    private static func firstInvalidUTF8(_ bytes: some Collection<UInt8>) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
        return offset
    }
}
