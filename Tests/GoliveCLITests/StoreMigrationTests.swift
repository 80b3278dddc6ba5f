import Foundation
import GoliveTestSupport
import System
import Testing

/// A team's history moved between stores with `golive store migrate|export|import`: 20 runs of
/// every kind and end (succeeded, rolled back, rehearsed, checked) from a SQLite file into a real
/// PostgreSQL database and out again into a fresh file, every run's `timeline --format json`
/// identical in all three. (About 30 s: the 20 runs are real runs against sshd hosts.)
@Suite(.serialized) struct StoreMigrationTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    let server: PostgresServer

    init() throws {
        live = try LiveHosts(count: 1)
        server = try PostgresServer.shared()
    }

    func timelines(_ store: String, _ ids: [String], _ environment: [String: String]) throws -> [String: String] {
        try Dictionary(uniqueKeysWithValues: ids.map { id in
            let result = try golive.run(["timeline", id, "--store", store, "--format", "json"], environment: environment)
            return (id, result.status == 0 ? result.output : "exit \(result.status): \(result.output)")
        })
    }

    /// The first difference between two sets of timelines, for the message.
    func difference(_ left: [String: String], _ right: [String: String]) -> String {
        for (id, text) in left.sorted(by: { $0.key < $1.key }) where right[id] != text {
            let other = right[id] ?? ""
            let pairs = zip(text.split(separator: "\n"), other.split(separator: "\n"))
            let first = pairs.first { $0.0 != $0.1 }.map { "'\($0.0)' became '\($0.1)'" } ?? "lengths \(text.count) vs \(other.count)"
            return "\(id): \(first)"
        }
        return "none"
    }

    @Test func twentyRunsGoIntoPostgreSQLAndBackWithIdenticalTimelines() async throws {
        let environment = server.passwordEnvironment.merging(["HOME": live.directory]) { $1 }
        let source = "sqlite:" + live.directory + "/source.sqlite"
        let good = try live.write(
            """
            name: moved
            hosts: web
            deploy:
              - name: release
                shell: mkdir -p {{ app_dir }}/releases/2.0.0 && printf 'caf\\303\\251 \\342\\234\\223\\n' && echo line >&2
                rollback: rm -rf {{ app_dir }}/releases/2.0.0
            """, name: "moved.yml")
        let bad = try live.write(
            """
            name: moved badly
            hosts: web
            deploy:
              - name: release
                shell: mkdir -p {{ app_dir }}/releases/2.0.0
                rollback: rm -rf {{ app_dir }}/releases/2.0.0
              - name: break
                shell: echo broken; exit 3
            """, name: "bad.yml")
        var ids: [String] = []
        for index in 0..<20 {
            let arguments: [String] =
                switch index % 4 {
                case 0: ["run", good]
                case 1: ["run", bad]
                case 2: ["rehearse", good, "--rollback-after"]
                default: ["check", good]
                }
            let result = try golive.run(arguments + ["-i", live.inventoryPath, "--yes", "--json", "--store", source], environment: environment)
            try #require([0, 1].contains(result.status), "\(arguments): \(result.output.suffix(1500))")
            ids.append(try #require(GoliveBinary.runID(in: result.output)))
            if index == 0 {
                // A finished run is not resumed, not even backwards: `golive rollback` undoes it, once.
                let resumed = try golive.run(["resume", ids[0], "--rollback", "--yes", "--store", source], environment: environment)
                #expect(resumed.status == 2 && resumed.output.contains("has ended") && resumed.output.contains("golive rollback \(ids[0])"), "\(resumed.output)")
            }
            if index % 4 == 0 { _ = try golive.run(["rollback", ids.last!, "--yes", "--store", source], environment: environment) }
        }
        let original = try timelines(source, ids, environment)
        let target = server.url(database: try server.createDatabase())
        let migrated = try golive.run(["store", "migrate", "--from", source, "--to", target], environment: environment)
        #expect(migrated.status == 0 && migrated.output.contains("copied 20 runs"), "\(migrated.output)")
        let inPostgres = try timelines(target, ids, environment)
        #expect(difference(original, inPostgres) == "none", "a timeline changed on its way into PostgreSQL: \(difference(original, inPostgres))")
        let export = live.directory + "/history.jsonl"
        #expect(try golive.run(["store", "export", "--store", target, "-o", export], environment: environment).status == 0)
        let back = "sqlite:" + live.directory + "/back.sqlite"
        let imported = try golive.run(["store", "import", export, "--store", back], environment: environment)
        #expect(imported.status == 0 && imported.output.contains("imported 20 runs"), "\(imported.output)")
        let returned = try timelines(back, ids, environment)
        #expect(difference(original, returned) == "none", "a timeline changed on its way back: \(difference(original, returned))")
        let listed = try golive.run(["runs", "--store", back, "--json", "--limit", "50"], environment: environment).output
        #expect(ids.allSatisfy { listed.contains($0) })
        // Importing again adds nothing.
        let again = try golive.run(["store", "import", export, "--store", back], environment: environment)
        #expect(again.status == 0 && again.output.contains("imported 0 runs"), "\(again.output)")
        #expect(difference(original, try timelines(back, ids, environment)) == "none")
        // A file that is not an export: its line and column, exit 2, nothing written.
        try Data("{\"run\": 1}\n".utf8).write(to: URL(fileURLWithPath: live.directory + "/bad.jsonl"))
        let broken = try golive.run(["store", "import", live.directory + "/bad.jsonl", "--store", back], environment: environment)
        #expect(broken.status == 2 && broken.output.contains("bad.jsonl:1:1:"), "\(broken.output)")
    }

    /// A well-formed line whose run cannot be written as it is (two events of one number, the same
    /// run twice, bytes that are not UTF-8, JSON cut short or broken), from a real export: refused
    /// at its line and column with exit 2, and no store is even opened, so nothing is half-written.
    @Test func anExportWithABadRunIsRefusedWholeAtItsLine() async throws {
        let environment = ["HOME": live.directory]
        let source = "sqlite:" + live.directory + "/one.sqlite"
        let playbook = try live.write("name: one\nhosts: web\ndeploy:\n  - name: hello\n    shell: echo hello\n", name: "one.yml")
        for _ in 0..<2 {
            let result = try golive.run(["check", playbook, "-i", live.inventoryPath, "--yes", "--json", "--store", source], environment: environment)
            try #require(result.status == 0, "\(result.output.suffix(1500))")
        }
        let export = live.directory + "/two.jsonl"
        #expect(try golive.run(["store", "export", "--store", source, "-o", export], environment: environment).status == 0)
        let lines = try Data(contentsOf: URL(fileURLWithPath: export)).split(separator: UInt8(ascii: "\n")).map { Data($0) }
        try #require(lines.count == 2)
        var run = try #require(try JSONSerialization.jsonObject(with: lines[1]) as? [String: Any])
        var events = try #require(run["events"] as? [[String: Any]])
        try #require(events.count > 3)
        events[2]["sequence"] = 2
        run["events"] = events
        let renumbered = try JSONSerialization.data(withJSONObject: run, options: .sortedKeys)
        let id = try #require(run["run"] as? String)
        var far = try #require(try JSONSerialization.jsonObject(with: lines[1]) as? [String: Any])
        var farEvents = try #require(far["events"] as? [[String: Any]])
        farEvents[1]["time"] = 1e300
        far["events"] = farEvents
        let farOff = try JSONSerialization.data(withJSONObject: far, options: .sortedKeys)
        var notText = lines[1]
        notText.insert(0xFF, at: 10)
        var broken = lines[1]
        broken.insert(contentsOf: Data(",,".utf8), at: 1)
        let cases: [(Data, String)] = [
            (renumbered, ":2:1: run \(id): event 3 is numbered 2"), (lines[1], ":2:1: run \(id) is in the export twice"),
            (notText, ":2:11: not UTF-8"), (lines[1].prefix(lines[1].count / 2), ":2:"), (broken, ":2:2: not a run of a golive export: not valid JSON"),
            (farOff, ":2:1: run \(id): event 2 has a time outside the years 1970 to 9999"),
        ]
        for (index, (second, expected)) in cases.enumerated() {
            let file = live.directory + "/bad\(index).jsonl"
            let target = live.directory + "/target\(index).sqlite"
            try (lines[index == 1 ? 1 : 0] + Data("\n".utf8) + second + Data("\n".utf8)).write(to: URL(fileURLWithPath: file))
            let imported = try golive.run(["store", "import", file, "--store", "sqlite:" + target], environment: environment)
            #expect(imported.status == 2 && imported.output.contains(file + expected), "case \(index): \(imported.output)")
            #expect(!FileManager.default.fileExists(atPath: target), "case \(index): the store was opened (and perhaps written)")
        }
    }
}
