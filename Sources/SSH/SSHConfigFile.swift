import Foundation
import System

/// The parts of an OpenSSH client config (`~/.ssh/config`) that golive honours:
/// `HostName`, `User`, `Port`, `IdentityFile`, `ProxyJump`, `UserKnownHostsFile`, `ConnectTimeout`,
/// `IdentityAgent`, inside `Host` blocks (wildcards and `!` negation) and `Include`d files.
///
/// As in OpenSSH, the first value found for a keyword wins (IdentityFile accumulates); `Match`
/// blocks are not evaluated and their contents are skipped.
public struct SSHConfigFile: Sendable {
    /// The settings that apply to one host alias.
    public struct Settings: Sendable, Hashable {
        /// `HostName` with `%h` expanded.
        public var hostName: String?
        /// `User`.
        public var user: String?
        /// `Port`.
        public var port: Int?
        /// `IdentityFile`s in order, `~` and `%h`/`%r`/`%u`/`%p` expanded.
        public var identityFiles: [String] = []
        /// `ProxyJump`: comma-separated `[user@]host[:port]` hops, or nil (`none` gives nil).
        public var proxyJump: String?
        /// `UserKnownHostsFile` entries, `~` expanded.
        public var userKnownHostsFiles: [String] = []
        /// `ConnectTimeout` in seconds.
        public var connectTimeout: Int?
        /// `IdentityAgent` socket path (`none` disables the agent).
        public var identityAgent: String?
    }

    private struct Block: Sendable {
        var patterns: [String]
        var options: [(String, [String])]
    }

    private var blocks: [Block] = []
    private let home: String

    /// An empty config.
    public init(home: String = NSHomeDirectory()) { self.home = home }

    /// Loads `path` (missing = empty).
    ///
    /// - Throws: when the file exists but cannot be read.
    public init(path: String, home: String = NSHomeDirectory()) throws {
        self.home = home
        var depth = 0
        try load(path, depth: &depth)
    }

    /// Parses config text directly.
    public init(text: String, home: String = NSHomeDirectory()) {
        self.home = home
        var depth = 0
        parse(text, depth: &depth)
    }

    private mutating func load(_ path: String, depth: inout Int) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        parse(try String(contentsOfFile: path, encoding: .utf8), depth: &depth)
    }

    private mutating func parse(_ text: String, depth: inout Int) {
        if blocks.isEmpty { blocks.append(Block(patterns: ["*"], options: [])) }
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let (keyword, arguments) = Self.split(line)
            switch keyword {
            case "host":
                blocks.append(Block(patterns: arguments, options: []))
            case "match":
                blocks.append(Block(patterns: [], options: []))  // never matches
            case "include":
                guard depth < 16 else { continue }
                depth += 1
                for pattern in arguments {
                    let expanded = expandTilde(pattern)
                    let full = expanded.hasPrefix("/") ? expanded : home + "/.ssh/" + expanded
                    for file in Self.glob(full) {
                        let current = blocks.count - 1
                        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                        // Included lines belong to the including block until they open their own.
                        var nested = SSHConfigFile(home: home)
                        nested.blocks = [Block(patterns: blocks[current].patterns, options: [])]
                        nested.parse(text, depth: &depth)
                        blocks[current].options += nested.blocks[0].options
                        blocks += nested.blocks.dropFirst()
                        blocks.append(Block(patterns: blocks[current].patterns, options: []))
                    }
                }
            default:
                blocks[blocks.count - 1].options.append((keyword, arguments))
            }
        }
    }

    private static func split(_ line: String) -> (String, [String]) {
        var words: [String] = []
        var current = ""
        var quoted = false
        var keyword: String?
        for character in line {
            if keyword == nil && (character == "=" || character == " " || character == "\t") {
                if !current.isEmpty {
                    keyword = current.lowercased()
                    current = ""
                }
                continue
            }
            if character == "\"" {
                quoted.toggle()
            } else if (character == " " || character == "\t") && !quoted {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if keyword == nil { return (current.lowercased(), []) }
        if !current.isEmpty { words.append(current) }
        return (keyword ?? "", words)
    }

    private static func glob(_ pattern: String) -> [String] {
        guard pattern.contains("*") || pattern.contains("?") else { return [pattern] }
        let directory = (pattern as NSString).deletingLastPathComponent
        let name = (pattern as NSString).lastPathComponent
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.sorted().filter { Glob.matches(name, $0) }.map { directory + "/" + $0 }
    }

    /// The settings for `alias` (the name the user typed, e.g. the inventory address).
    public func settings(for alias: String, localUser: String = NSUserName()) -> Settings {
        var result = Settings()
        var seen = Set<String>()
        for block in blocks where Self.matches(block.patterns, alias) {
            for (keyword, arguments) in block.options {
                guard let first = arguments.first else { continue }
                if keyword == "identityfile" {
                    result.identityFiles.append(first)
                    continue
                }
                guard !seen.contains(keyword) else { continue }
                seen.insert(keyword)
                switch keyword {
                case "hostname": result.hostName = first
                case "user": result.user = first
                case "port": result.port = Int(first)
                case "proxyjump": result.proxyJump = first.lowercased() == "none" ? nil : first
                case "userknownhostsfile": result.userKnownHostsFiles = arguments
                case "connecttimeout": result.connectTimeout = Int(first)
                case "identityagent": result.identityAgent = first
                default: break
                }
            }
        }
        let host = result.hostName.map { $0.replacingOccurrences(of: "%h", with: alias) } ?? alias
        result.hostName = result.hostName == nil ? nil : host
        let user = result.user ?? localUser
        let port = String(result.port ?? 22)
        func expand(_ value: String) -> String {
            expandTilde(value)
                .replacingOccurrences(of: "%h", with: host)
                .replacingOccurrences(of: "%r", with: user)
                .replacingOccurrences(of: "%u", with: localUser)
                .replacingOccurrences(of: "%p", with: port)
                .replacingOccurrences(of: "%d", with: home)
                .replacingOccurrences(of: "%%", with: "%")
        }
        result.identityFiles = result.identityFiles.map(expand)
        result.userKnownHostsFiles = result.userKnownHostsFiles.map(expand)
        result.identityAgent = result.identityAgent.map(expand)
        return result
    }

    private func expandTilde(_ path: String) -> String {
        path == "~" ? home : path.hasPrefix("~/") ? home + path.dropFirst(1) : path
    }

    private static func matches(_ patterns: [String], _ alias: String) -> Bool {
        var matched = false
        for pattern in patterns {
            if pattern.hasPrefix("!") {
                if Glob.matches(String(pattern.dropFirst()), alias) { return false }
            } else if Glob.matches(pattern, alias) {
                matched = true
            }
        }
        return matched
    }
}
