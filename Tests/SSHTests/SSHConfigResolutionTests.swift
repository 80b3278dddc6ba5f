import Foundation
import SSH
import System
import Testing

/// golive's ssh_config resolution against `ssh -G` itself, over a corpus of configs: the same
/// HostName, User, Port, IdentityFile list, ProxyJump, UserKnownHostsFile, ConnectTimeout and
/// IdentityAgent for every alias — or, where the config holds what only OpenSSH can evaluate, golive
/// says so and takes `ssh -G`'s answer.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh"), "needs OpenSSH's ssh"))
struct SSHConfigResolutionTests {
    let home = NSHomeDirectory()
    let user = NSUserName()

    /// The corpus: each config with the aliases asked for. `@DIR@` is a directory of include files.
    static let corpus: [(String, [String])] = [
        ("Host web1\n  HostName 10.0.0.1\n  User deploy\n  Port 2222\n", ["web1", "web2"]),
        ("Host web*\n  User a\nHost web1\n  User b\n", ["web1", "web9", "db1"]),
        ("Host *\n  Port 2200\nHost web1\n  Port 22\n", ["web1"]),
        ("Host * !db*\n  User web\nHost db*\n  User db\n", ["web1", "db1", "dbx"]),
        ("Host !bastion *\n  ProxyJump bastion\n", ["app1", "bastion"]),
        ("Host web? db??\n  ConnectTimeout 5\n", ["web1", "web10", "db10", "db1"]),
        ("Host *.example.com\n  HostName %h.internal\n  User ops\n", ["a.example.com", "example.com"]),
        ("Host a\n  HostName b\nHost b\n  User not-applied\nMatch host b\n  User via-match\n", ["a", "b"]),
        ("Match all\n  User everyone\n", ["x"]),
        ("Match host 10.0.0.*\n  IdentityFile ~/.ssh/id_ten\nHost web1\n  HostName 10.0.0.1\n", ["web1"]),
        ("Host web1\n  HostName 10.0.0.1\nMatch host 10.0.0.*\n  IdentityFile ~/.ssh/id_ten\n", ["web1", "web2"]),
        ("Match originalhost web*\n  User orig\nHost web1\n  HostName elsewhere\n", ["web1", "db1"]),
        ("Host web1\n  User alice\nMatch user alice\n  Port 2022\n", ["web1", "web2"]),
        ("Match user nobody-at-all\n  Port 1\nMatch !user nobody-at-all\n  Port 3\n", ["h"]),
        ("Match localuser \(NSUserName())\n  User local-match\n", ["h"]),
        ("Match !host web*\n  User not-web\n", ["web1", "db1"]),
        ("Match host web*,db*\n  User listed\n", ["web1", "db2", "cache1"]),
        ("Match host web*,!web9\n  User listed\n", ["web1", "web9"]),
        ("Match originalhost a host b\n  User both\nHost a\n  HostName b\n", ["a"]),
        ("Host *\n  IdentityFile ~/.ssh/id_one\nHost web1\n  IdentityFile ~/.ssh/id_two\n", ["web1", "db1"]),
        ("Host web1\n  IdentityFile ~/.ssh/id_%h_%r\n  User bob\n", ["web1"]),
        ("Host web1\n  IdentityFile %d/.ssh/id_%u_%p\n  Port 2201\n", ["web1"]),
        ("Host web1\n  UserKnownHostsFile ~/.ssh/kh_%h /etc/ssh/kh_%%\n", ["web1"]),
        ("Host web1\n  IdentityAgent ~/agent.%u\n", ["web1"]),
        ("Host web1\n  ProxyJump none\nHost *\n  ProxyJump bastion\n", ["web1", "web2"]),
        ("Host web1\n  ProxyJump jump1,deploy@jump2:2222\n", ["web1"]),
        ("Host web1\nUser=eq\nPort=2023\n", ["web1"]),
        ("Host web1\n  HostName \"10.0.0.9\"\n  User \"quoted\"\n", ["web1"]),
        ("Include @DIR@/inc-*.conf\nHost *\n  User fallback\n", ["web1", "db1", "other"]),
        ("Host web1\n  Include @DIR@/inner.conf\nHost *\n  Port 2999\n", ["web1", "db1"]),
        ("Include @REL@/rel.conf\n", ["web1"]),
        ("HOST Web1\n  HOSTNAME upper\n  user lower\n", ["Web1", "web1"]),
        ("Host web1\n  ConnectTimeout 9\nHost *\n  ConnectTimeout 3\n", ["web1", "web2"]),
        ("Host a\n  HostName %h.x\nMatch host a.x\n  User chained\n", ["a"]),
        ("Match exec \"true\"\n  User exec-user\n", ["h"]),
        ("Match canonical all\n  User canonical-user\n", ["h"]),
    ]

    /// What `ssh -G` prints for the fields compared, its tokens and `~` expanded as it would when connecting.
    func openSSH(_ config: String, _ alias: String) throws -> [String: [String]] {
        let (status, output) = try ChildProcess.run("/usr/bin/ssh", ["-F", config, "-G", "--", alias])
        #expect(status == 0, "\(output)")
        var fields: [String: [String]] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard words.count == 2 else { continue }
            let key = words[0].lowercased()
            guard ["hostname", "user", "port", "identityfile", "proxyjump", "userknownhostsfile", "connecttimeout", "identityagent"].contains(key)
            else { continue }
            fields[key, default: []].append(contentsOf: key == "userknownhostsfile" ? words[1].split(separator: " ").map(String.init) : [words[1]])
        }
        return fields
    }

    /// golive's resolution in the same shape, OpenSSH's defaults where the config says nothing.
    func golive(_ settings: SSHConfigFile.Settings, _ alias: String, identityFromSSH: [String]) -> [String: [String]] {
        let user = settings.user ?? NSUserName()
        var fields: [String: [String]] = [
            "hostname": [settings.hostName ?? alias.lowercased()], "user": [user], "port": [String(settings.port ?? 22)],
            "connecttimeout": [settings.connectTimeout.map(String.init) ?? "none"],
            "userknownhostsfile": settings.userKnownHostsFiles.isEmpty
                ? [home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"] : settings.userKnownHostsFiles,
        ]
        fields["identityfile"] = settings.identityFiles.isEmpty
            ? ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa"].map { home + "/.ssh/" + $0 }
            : settings.identityFiles
        if let jump = settings.proxyJump { fields["proxyjump"] = [jump] }
        if let agent = settings.identityAgent { fields["identityagent"] = [agent] }
        return fields
    }

    @Test func everyConfigOfTheCorpusResolvesAsSshDashGDoes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sshg-\(UUID().uuidString)").path
        let relative = "golive-sshg-\(UUID().uuidString.prefix(8))"
        let relativeDirectory = home + "/.ssh/" + relative
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: relativeDirectory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: relativeDirectory)
        }
        try "Host web*\n  User from-include-a\n".write(toFile: directory + "/inc-a.conf", atomically: true, encoding: .utf8)
        try "Host db*\n  User from-include-b\n  Port 2444\n".write(toFile: directory + "/inc-b.conf", atomically: true, encoding: .utf8)
        try "User inner-user\nPort 2555\n".write(toFile: directory + "/inner.conf", atomically: true, encoding: .utf8)
        try "Host web1\n  User relative-include\n".write(toFile: relativeDirectory + "/rel.conf", atomically: true, encoding: .utf8)
        var compared = 0, deferred = 0
        for (index, (template, aliases)) in Self.corpus.enumerated() {
            let text = template.replacingOccurrences(of: "@DIR@", with: directory).replacingOccurrences(of: "@REL@", with: relative)
            let path = directory + "/config-\(index)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let config = try SSHConfigFile(path: path)
            for alias in aliases {
                let ours = config.settings(for: alias)
                let theirs = try openSSH(path, alias)
                if ours.needsOpenSSH {
                    // golive knows it cannot tell, and takes OpenSSH's answer.
                    let asked = try #require(SSHConfigFile.resolvedByOpenSSH(alias, configPath: path))
                    #expect(asked.user == theirs["user"]?.first, "config \(index) \(alias)")
                    deferred += 1
                    continue
                }
                var expected = theirs
                expected["identityfile"] = theirs["identityfile"]?.map { raw in
                    let tilde = raw.hasPrefix("~/") ? home + raw.dropFirst(1) : raw
                    return SSHConfigFileTokens.expand(tilde, host: theirs["hostname"]?.first ?? alias, user: theirs["user"]?.first ?? user,
                        port: theirs["port"]?.first ?? "22", alias: alias.lowercased(), home: home)
                }
                #expect(golive(ours, alias, identityFromSSH: theirs["identityfile"] ?? []) == expected, "config \(index) (\(text.debugDescription)), alias \(alias)")
                compared += 1
            }
        }
        #expect(Self.corpus.count >= 30 && compared >= 50 && deferred >= 2, "\(compared) compared, \(deferred) deferred")
    }
}

/// The `%` tokens of an IdentityFile, as OpenSSH expands them when it connects (`ssh -G` prints them raw).
enum SSHConfigFileTokens {
    static func expand(_ value: String, host: String, user: String, port: String, alias: String, home: String) -> String {
        var out = ""
        var iterator = value.makeIterator()
        while let character = iterator.next() {
            guard character == "%", let token = iterator.next() else {
                out.append(character)
                continue
            }
            switch token {
            case "%": out.append("%")
            case "h": out += host
            case "r": out += user
            case "u": out += NSUserName()
            case "p": out += port
            case "d": out += home
            case "n": out += alias
            default: out += "%\(token)"
            }
        }
        return out
    }
}
