import Foundation

/// The command-line input a run records (`--var`, `--limit`) so `resume` and `rollback` rebuild the same play.
enum RecordedInput {
    static func encode(vars: [String], limit: String?) -> [String: String] {
        var recorded: [String: String] = [:]
        if let data = try? JSONEncoder().encode(vars) { recorded["vars"] = String(decoding: data, as: UTF8.self) }
        if let limit { recorded["limit"] = limit }
        return recorded
    }

    static func decodeVars(_ text: String?) -> [String] {
        guard let data = text?.data(using: .utf8) else { return [] }
        return (try? JSONDecoder().decode([String].self, from: data)) ?? []
    }
}
