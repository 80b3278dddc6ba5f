/// Ansible's host ranges: `web[01:20]` (zero-padded), `db-[a:f]`, `node[0:10:2]` (a stride), several
/// in one name, each expanded in order.
enum HostRange {
    /// Why a range cannot be expanded.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The most names one pattern may expand to.
    static let maximum = 100_000

    /// The names `pattern` stands for (itself when it has no range).
    static func expand(_ pattern: String) throws(Failure) -> [String] {
        var names: [String] = []
        try expand(pattern, into: &names)
        return names
    }

    private static func expand(_ pattern: String, into names: inout [String]) throws(Failure) {
        guard let open = pattern.firstIndex(of: "[") else {
            names.append(pattern)
            return
        }
        guard let close = pattern[open...].firstIndex(of: "]") else {
            throw Failure(description: "'\(pattern)': a host range opened with '[' is not closed with ']'")
        }
        let head = pattern[..<open]
        let body = pattern[pattern.index(after: open)..<close]
        let tail = pattern[pattern.index(after: close)...]
        let bounds = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard bounds.count == 2 || bounds.count == 3 else {
            throw Failure(description: "'\(pattern)': a host range is [begin:end] or [begin:end:step], not [\(body)]")
        }
        let begin = bounds[0].isEmpty ? "0" : bounds[0]
        let end = bounds[1]
        guard !end.isEmpty else { throw Failure(description: "'\(pattern)': the host range [\(body)] has no end") }
        var step = 1
        if bounds.count == 3 {
            guard let parsed = Int(bounds[2]), parsed > 0 else {
                throw Failure(description: "'\(pattern)': the step of [\(body)] must be a positive number")
            }
            step = parsed
        }
        var values: [String] = []
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        if begin.count == 1, end.count == 1, let first = letters.firstIndex(of: Character(begin)), let last = letters.firstIndex(of: Character(end)) {
            guard first <= last else { throw Failure(description: "'\(pattern)': the host range [\(body)] begins after it ends") }
            values = stride(from: first, through: last, by: step).map { String(letters[$0]) }
        } else {
            guard let low = Int(begin), let high = Int(end), low >= 0, high >= 0 else {
                throw Failure(description: "'\(pattern)': [\(body)] is neither a range of numbers nor of single letters")
            }
            let width = begin.hasPrefix("0") && begin.count > 1 ? begin.count : 0
            if width > 0, end.count != width {
                throw Failure(description: "'\(pattern)': a zero-padded range needs begin and end of one width ([\(body)])")
            }
            // Ansible expands a range that begins after it ends to no host at all; golive refuses it.
            guard low <= high else { throw Failure(description: "'\(pattern)': the host range [\(body)] begins after it ends") }
            guard (high - low) / step < maximum else {
                throw Failure(description: "'\(pattern)': the host range [\(body)] has more than \(maximum) hosts")
            }
            values = stride(from: low, through: high, by: step).map { number in
                let text = String(number)
                return width > text.count ? String(repeating: "0", count: width - text.count) + text : text
            }
        }
        for value in values {
            try expand(head + value + tail, into: &names)
            if names.count > maximum { throw Failure(description: "'\(pattern)' expands to more than \(maximum) hosts") }
        }
    }
}
