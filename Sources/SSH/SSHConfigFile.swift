import Foundation
import System

/// The parts of an OpenSSH client config (`~/.ssh/config`) that golive honours — `HostName`, `User`,
/// `Port`, `IdentityFile`, `CertificateFile`, `ProxyJump`, `ProxyCommand`, `UserKnownHostsFile`,
/// `ConnectTimeout`, `IdentityAgent` — evaluated as `ssh -G` does: top to bottom, `Host` blocks
/// against the name given (wildcards, `!` negation), `Match` blocks (`all`, `host`, `originalhost`,
/// `user`, `localuser`, each negatable, comma lists) against what is known at that point (the
/// target host after `HostName`, the user so far), `Include` with globs (relative to `~/.ssh`) in
/// place. The first value of a keyword wins; `IdentityFile` and `CertificateFile` accumulate.
///
/// What only OpenSSH itself can evaluate (`Match exec`, `canonical`, `final`, `localnetwork`,
/// `tagged`, the `%C` token) marks the result ``Settings/needsOpenSSH``: the caller then asks
/// `ssh -G` (``resolvedByOpenSSH(_:configPath:)``) rather than guess.
public struct SSHConfigFile: Sendable {
    /// The settings that apply to one host alias.
    public struct Settings: Sendable, Hashable {
        /// `HostName` with `%h` expanded.
        public var hostName: String?
        /// `User`.
        public var user: String?
        /// `Port`.
        public var port: Int?
        /// `IdentityFile`s in order, `~` and tokens expanded.
        public var identityFiles: [String] = []
        /// `CertificateFile`s in order, `~` and tokens expanded.
        public var certificateFiles: [String] = []
        /// `ProxyJump`: comma-separated `[user@]host[:port]` hops, or nil (`none` gives nil).
        public var proxyJump: String?
        /// `ProxyCommand` (nil for none).
        public var proxyCommand: String?
        /// `UserKnownHostsFile` entries, `~` and tokens expanded.
        public var userKnownHostsFiles: [String] = []
        /// `ConnectTimeout` in seconds.
        public var connectTimeout: Int?
        /// `IdentityAgent` socket path (`none` disables the agent).
        public var identityAgent: String?
        /// Keywords set for the host that golive's libssh2 transport does not honour
        /// (`PKCS11Provider`, `GSSAPIAuthentication yes`, ...), lowercased.
        public var unsupported: [String] = []
        /// The config holds something for this host that only OpenSSH can evaluate.
        public var needsOpenSSH = false
        /// A `Match` block applied to this host (or could not be evaluated here): `auto` gives it OpenSSH.
        public var usesMatch = false
    }

    private enum Condition: Sendable {
        case host([String])
        case match([Criterion])
    }

    private struct Criterion: Sendable {
        var name: String
        var negated: Bool
        var argument: String?
    }

    private struct Block: Sendable {
        var condition: Condition
        var options: [(String, [String])]
    }

    private var blocks: [Block] = []
    private let home: String

    /// Keywords whose first value golive reads.
    static let read: Set<String> = [
        "hostname", "user", "port", "identityfile", "certificatefile", "proxyjump", "proxycommand", "userknownhostsfile",
        "connecttimeout", "identityagent",
    ]
    /// Keywords that, set for a host, need OpenSSH to be honoured (besides `Match` it cannot evaluate).
    static let openSSHOnly: Set<String> = [
        "pkcs11provider", "securitykeyprovider", "gssapiauthentication", "gssapidelegatecredentials", "canonicalizehostname",
        "hostkeyalias", "localcommand", "permitlocalcommand", "controlmaster", "knownhostscommand", "remotecommand",
    ]

    /// An empty config.
    public init(home: String = NSHomeDirectory()) { self.home = home }

    /// Loads `path` (missing = empty).
    ///
    /// - Throws: when the file exists but cannot be read.
    public init(path: String, home: String = NSHomeDirectory()) throws {
        self.home = home
        var depth = 0
        blocks = [Block(condition: .host(["*"]), options: [])]
        guard FileManager.default.fileExists(atPath: path) else { return }
        parse(try String(contentsOfFile: path, encoding: .utf8), depth: &depth)
    }

    /// Parses config text directly.
    public init(text: String, home: String = NSHomeDirectory()) {
        self.home = home
        var depth = 0
        blocks = [Block(condition: .host(["*"]), options: [])]
        parse(text, depth: &depth)
    }

    private mutating func parse(_ text: String, depth: inout Int) {
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let (keyword, arguments) = Self.split(line)
            switch keyword {
            case "host":
                blocks.append(Block(condition: .host(arguments), options: []))
            case "match":
                blocks.append(Block(condition: .match(Self.criteria(arguments)), options: []))
            case "include":
                guard depth < 16 else { continue }
                depth += 1
                let condition = blocks[blocks.count - 1].condition
                for pattern in arguments {
                    let expanded = expandTilde(pattern)
                    let full = expanded.hasPrefix("/") ? expanded : home + "/.ssh/" + expanded
                    for file in Self.glob(full) {
                        guard let included = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
                        // Included lines belong to the including block until they open their own;
                        // after the file, the including block goes on.
                        blocks.append(Block(condition: condition, options: []))
                        parse(included, depth: &depth)
                        blocks.append(Block(condition: condition, options: []))
                    }
                }
                depth -= 1
            default:
                blocks[blocks.count - 1].options.append((keyword, arguments))
            }
        }
    }

    private static func criteria(_ words: [String]) -> [Criterion] {
        var result: [Criterion] = []
        var index = 0
        while index < words.count {
            var name = words[index].lowercased()
            let negated = name.hasPrefix("!")
            if negated { name.removeFirst() }
            index += 1
            var argument: String?
            if !["all", "canonical", "final"].contains(name), index < words.count {
                argument = words[index]
                index += 1
            }
            result.append(Criterion(name: name, negated: negated, argument: argument))
        }
        return result
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
        var rawIdentities: [String] = [], rawCertificates: [String] = [], rawKnownHosts: [String] = []
        for block in blocks {
            switch block.condition {
            case .host(let patterns):
                guard Self.matches(patterns, alias) else { continue }
            case .match(let criteria):
                let target = result.hostName.map { Self.expandHost($0, alias) } ?? alias
                let (holds, unknowable) = Self.evaluate(criteria, target: target, original: alias, user: result.user ?? localUser, localUser: localUser)
                if unknowable { result.needsOpenSSH = true }
                guard holds else { continue }
                if !criteria.allSatisfy({ $0.name == "all" }) { result.usesMatch = true }
            }
            for (keyword, arguments) in block.options {
                guard let first = arguments.first else { continue }
                switch keyword {
                case "identityfile":
                    rawIdentities.append(first)
                    continue
                case "certificatefile":
                    rawCertificates.append(first)
                    continue
                default: break
                }
                guard !seen.contains(keyword) else { continue }
                seen.insert(keyword)
                if Self.openSSHOnly.contains(keyword), !(keyword == "gssapiauthentication" && first.lowercased() == "no") {
                    result.unsupported.append(keyword)
                }
                switch keyword {
                case "hostname": result.hostName = first
                case "user": result.user = first
                case "port": result.port = Int(first)
                case "proxyjump": result.proxyJump = first.lowercased() == "none" ? nil : first
                case "proxycommand": result.proxyCommand = first.lowercased() == "none" ? nil : arguments.joined(separator: " ")
                case "userknownhostsfile": rawKnownHosts = arguments
                case "connecttimeout": result.connectTimeout = Int(first)
                case "identityagent": result.identityAgent = first
                default: break
                }
            }
        }
        let host = result.hostName.map { Self.expandHost($0, alias) } ?? alias
        result.hostName = result.hostName == nil ? nil : host
        let user = result.user ?? localUser
        let port = String(result.port ?? 22)
        func expand(_ value: String) -> String {
            if value.contains("%C") { result.needsOpenSSH = true }
            return Self.expandTokens(
                expandTilde(value), ["h": host, "r": user, "u": localUser, "p": port, "d": home, "n": alias, "k": alias,
                                     "i": String(getuid()), "l": Self.shortHostName, "L": Self.shortHostName])
        }
        result.identityFiles = rawIdentities.map(expand)
        result.certificateFiles = rawCertificates.map(expand)
        result.userKnownHostsFiles = rawKnownHosts.map(expand)
        result.identityAgent = result.identityAgent.map(expand)
        return result
    }

    /// `%h` in a `HostName` (the only token it takes, with `%%`).
    private static func expandHost(_ value: String, _ alias: String) -> String {
        expandTokens(value, ["h": alias])
    }

    /// Expands `%X` tokens in one pass (so an expansion is never expanded again); `%%` is `%`.
    static func expandTokens(_ value: String, _ tokens: [Character: String]) -> String {
        var out = ""
        var iterator = value.makeIterator()
        while let character = iterator.next() {
            guard character == "%" else {
                out.append(character)
                continue
            }
            guard let token = iterator.next() else {
                out.append("%")
                break
            }
            if token == "%" {
                out.append("%")
            } else if let replacement = tokens[token] {
                out += replacement
            } else {
                out += "%\(token)"
            }
        }
        return out
    }

    private static var shortHostName: String {
        ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ProcessInfo.processInfo.hostName
    }

    private func expandTilde(_ path: String) -> String {
        path == "~" ? home : path.hasPrefix("~/") ? home + path.dropFirst(1) : path
    }

    /// Whether a `Match` line holds, and whether it holds something golive cannot evaluate.
    private static func evaluate(_ criteria: [Criterion], target: String, original: String, user: String, localUser: String)
        -> (holds: Bool, unknowable: Bool)
    {
        var holds = true
        for criterion in criteria {
            let result: Bool
            switch criterion.name {
            case "all": result = true
            case "host": result = matchesList((criterion.argument ?? "").lowercased(), target.lowercased())
            case "originalhost": result = matchesList((criterion.argument ?? "").lowercased(), original.lowercased())
            case "user": result = matchesList(criterion.argument ?? "", user)
            case "localuser": result = matchesList(criterion.argument ?? "", localUser)
            default: return (false, true)  // exec, canonical, final, localnetwork, tagged
            }
            if result == criterion.negated { holds = false }
        }
        return (holds, false)
    }

    /// A `Match` pattern list: comma-separated, each maybe negated; any negated match refuses.
    private static func matchesList(_ list: String, _ value: String) -> Bool {
        matches(list.split(separator: ",").map(String.init), value)
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

    /// The settings `ssh -G` gives for `alias` (with `-F configPath` when given): the answer for what
    /// golive cannot evaluate itself. `ssh` is the client to ask; `unsetting` the variables of this
    /// process's environment it must not see (a `Match exec` runs commands with it). Nil when `ssh`
    /// cannot be run.
    public static func resolvedByOpenSSH(
        _ alias: String, configPath: String?, ssh: String = "/usr/bin/ssh", unsetting: Set<String> = []
    ) -> Settings? {
        let arguments = (configPath.map { ["-F", $0] } ?? []) + ["-G", "--", alias]
        guard let (status, output) = try? ChildProcess.run(ssh, arguments, unsetting: unsetting), status == 0 else { return nil }
        var result = Settings()
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard words.count == 2 else { continue }
            let value = words[1]
            switch words[0].lowercased() {
            case "hostname": result.hostName = value
            case "user": result.user = value
            case "port": result.port = Int(value)
            case "identityfile": result.identityFiles.append(value)
            case "certificatefile": result.certificateFiles.append(value)
            case "proxyjump": result.proxyJump = value.lowercased() == "none" ? nil : value
            case "proxycommand": result.proxyCommand = value.lowercased() == "none" ? nil : value
            case "userknownhostsfile": result.userKnownHostsFiles = value.split(separator: " ").map(String.init)
            case "connecttimeout": result.connectTimeout = Int(value)
            case "identityagent": result.identityAgent = value
            default: break
            }
        }
        return result
    }
}
