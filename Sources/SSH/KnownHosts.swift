import Foundation
import System

/// An OpenSSH known_hosts database: plain and hashed (`|1|salt|hash`) names, `[host]:port`,
/// wildcard and negated patterns, and `@revoked` markers. `@cert-authority` lines are not keys of
/// a host: libssh2 cannot check a host certificate; ``certifiedByAuthority(_:)`` says a host has one.
public struct KnownHosts: Sendable {
    /// One key line that applies to a host.
    public struct Entry: Sendable, Hashable {
        /// The file it came from.
        public var file: String
        /// 1-based line number.
        public var line: Int
        /// The key.
        public var key: HostKey
        /// True for `@revoked` lines.
        public var revoked: Bool
    }

    /// The verdict on a presented key.
    public enum Verdict: Sendable, Hashable {
        /// A known_hosts line holds this very key.
        case match(Entry)
        /// Lines of the same key type hold a different key.
        case mismatch(expected: [Entry])
        /// The key is marked revoked.
        case revoked(Entry)
        /// No line of this key type names the host; `otherTypes` lists the types that do.
        case unknown(otherTypes: [String])
    }

    private struct Line: Sendable {
        var file: String
        var number: Int
        var patterns: [String]
        var key: HostKey
        var revoked: Bool
    }

    private var lines: [Line] = []
    /// The host patterns of `@cert-authority` lines.
    private var authorities: [[String]] = []

    /// Loads the given files; a missing file counts as empty.
    ///
    /// - Throws: only when a file exists but cannot be read.
    public init(files: [String]) throws {
        for file in files {
            guard FileManager.default.fileExists(atPath: file) else { continue }
            let text = try String(contentsOfFile: file, encoding: .utf8)
            parse(text, file: file)
        }
    }

    /// Parses known_hosts text directly (for tests and in-memory use).
    public init(text: String, file: String = "known_hosts") {
        parse(text, file: file)
    }

    private mutating func parse(_ text: String, file: String) {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            var revoked = false
            if first.hasPrefix("@") {
                if first == "@cert-authority", fields.count >= 2 {
                    authorities.append(fields[1].split(separator: ",").map(String.init))
                }
                guard first == "@revoked" else { continue }
                revoked = true
                fields.removeFirst()
            }
            guard fields.count >= 3, let blob = Data(base64Encoded: fields[2]) else { continue }
            let key = HostKey(type: fields[1], blob: blob)
            lines.append(
                Line(
                    file: file, number: index + 1, patterns: fields[0].split(separator: ",").map(String.init),
                    key: key, revoked: revoked))
        }
    }

    /// True when a `@cert-authority` line names the host (`host` or `[host]:port`): its key is
    /// checked as a certificate signed by that authority.
    public func certifiedByAuthority(_ name: String) -> Bool {
        authorities.contains { Self.matches($0, name: name) }
    }

    /// The key types known for a host name (`host` or `[host]:port`), in file order, without duplicates.
    public func knownTypes(for name: String) -> [String] {
        var seen: [String] = []
        for line in lines where !line.revoked && Self.matches(line.patterns, name: name) {
            if !seen.contains(line.key.type) { seen.append(line.key.type) }
        }
        return seen
    }

    /// Checks a presented key for a host name (`host` or `[host]:port`).
    public func verify(_ key: HostKey, for name: String) -> Verdict {
        let applicable = lines.filter { Self.matches($0.patterns, name: name) }
        if let revoked = applicable.first(where: { $0.revoked && $0.key.blob == key.blob }) {
            return .revoked(Self.entry(revoked))
        }
        let sameType = applicable.filter { !$0.revoked && $0.key.type == key.type }
        if let hit = sameType.first(where: { $0.key.blob == key.blob }) { return .match(Self.entry(hit)) }
        if !sameType.isEmpty { return .mismatch(expected: sameType.map(Self.entry)) }
        var others: [String] = []
        for line in applicable where !line.revoked && !others.contains(line.key.type) { others.append(line.key.type) }
        return .unknown(otherTypes: others)
    }

    private static func entry(_ line: Line) -> Entry {
        Entry(file: line.file, line: line.number, key: line.key, revoked: line.revoked)
    }

    /// OpenSSH's rule: a name matches if some pattern matches and no negated pattern does.
    static func matches(_ patterns: [String], name: String) -> Bool {
        var matched = false
        for pattern in patterns {
            if pattern.hasPrefix("|1|") {
                if hashedMatch(pattern, name: name) { matched = true }
            } else if pattern.hasPrefix("!") {
                if Glob.matches(String(pattern.dropFirst()).lowercased(), name.lowercased()) { return false }
            } else if Glob.matches(pattern.lowercased(), name.lowercased()) {
                matched = true
            }
        }
        return matched
    }

    private static func hashedMatch(_ pattern: String, name: String) -> Bool {
        let parts = pattern.split(separator: "|", omittingEmptySubsequences: true)
        guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])),
            let hash = Data(base64Encoded: String(parts[2]))
        else { return false }
        return Digest.hmacSHA1(key: salt, data: Data(name.utf8)) == hash
    }

    /// Appends a key for a host name to `file` (creating it, mode 0600), as `ssh` does with
    /// `StrictHostKeyChecking=accept-new`.
    ///
    /// - Throws: when the file cannot be written.
    public static func append(_ key: HostKey, for name: String, to file: String) throws {
        let url = URL(fileURLWithPath: file)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let line = "\(name) \(key.type) \(key.blob.base64EncodedString())\n"
        if !FileManager.default.fileExists(atPath: file) {
            _ = FileManager.default.createFile(
                atPath: file, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let handle = try FileHandle(forUpdating: url)
        defer { try? handle.close() }
        let end = try handle.seekToEnd()
        if end > 0 {
            try handle.seek(toOffset: end - 1)
            let last = try handle.read(upToCount: 1)
            try handle.seekToEnd()
            if last != Data("\n".utf8) { try handle.write(contentsOf: Data("\n".utf8)) }
        }
        try handle.write(contentsOf: Data(line.utf8))
    }
}
