import Foundation
import GoliveTestSupport
import System
import Testing

/// Malicious or absurd input: refused with a clear error, nothing written where it must not be.
@Suite(.serialized) struct HostileInputTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    var store: String { live.directory + "/hostile.sqlite" }

    init() throws { live = try LiveHosts(count: 2) }

    @Test func hostileHostNamesAreRefusedWithALocatedError() throws {
        let names = [#""we\"b""#, #""a$(id)""#, "\"x`id`y\"", #""new\nline""#, #""nul\u0000byte""#, #""semi;colon""#, #""../up""#]
        for name in names {
            let inventory = try live.write(
                "environment: hostile\nhosts:\n  \(name): { address: 127.0.0.1 }\n", name: "hostile-inventory.yml")
            let (status, output) = try golive.run(["ping", "-i", inventory])
            #expect(status == 2, "\(name): \(output)")
            #expect(output.contains("hostile-inventory.yml:3:3: error:") && output.contains("is not a valid host name"), "\(name): \(output)")
        }
    }

    @Test func aHundredMegabyteFileIsRefusedQuicklyWithBoundedMemory() throws {
        let path = live.directory + "/huge.yml"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let line = Data("  - { name: step, shell: echo hello }\n".utf8)
        try handle.write(contentsOf: Data("name: huge\nhosts: all\ndeploy:\n".utf8))
        var block = Data()
        for _ in 0..<10_000 { block.append(line) }
        for _ in 0..<(100 * 1024 * 1024 / block.count) { try handle.write(contentsOf: block) }
        try handle.close()
        let (status, output) = try ChildProcess.run("/usr/bin/time", ["-f", "rss=%M", golive.path, "validate", path])
        #expect(status == 2)
        #expect(output.contains("huge.yml:1:1: error:") && output.contains("golive reads at most"), "\(output.prefix(400))")
        let rss = try #require(output.firstMatch(of: /rss=(\d+)/).flatMap { Int($0.1) })
        #expect(rss < 100_000, "peak RSS \(rss) KB")
    }

    @Test func aTemplatedDestinationThatClimbsOutIsRefusedAndNothingIsWritten() throws {
        let escape = live.directory + "/escaped-\(UInt32.random(in: 0...UInt32.max))"
        let play = try live.write(
            """
            name: traversal
            hosts: web
            deploy:
              - name: page
                template: { src: page.txt, dest: "{{ app_dir }}/releases/{{ version }}/page.txt" }
            """, name: "traversal.yml")
        try "hello {{ version }}\n".write(toFile: live.directory + "/page.txt", atomically: true, encoding: .utf8)
        // Deep enough to leave app_dir for the test's directory.
        let climb = String(repeating: "../", count: 12) + String(escape.dropFirst())
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store, "-e", "version=\(climb)"])
        // Refused at validate, as rendered for the host, before anything is touched.
        #expect(status == 2, "\(output.suffix(800))")
        #expect(output.contains("climbs out with '..'"), "\(output.suffix(800))")
        #expect(!FileManager.default.fileExists(atPath: escape))
        #expect(!FileManager.default.fileExists(atPath: escape + "/page.txt"))
    }

    @Test func anArchiveWithDotDotEntriesIsNotRestored() throws {
        // The backup is replaced, between backup and rollback, by a tarball whose entry climbs out.
        let outside = live.directory + "/outside-\(UInt32.random(in: 0...UInt32.max))"
        let play = try live.write(
            """
            name: evil archive
            hosts: web1
            backup:
              - name: snapshot
                archive: { path: "{{ app_dir }}/config", to: "{{ app_dir }}/../backups/config.tgz" }
            deploy:
              - name: swap the archive
                shell: >-
                  mkdir -p /tmp/evil-$$/config && echo pwned > /tmp/evil-$$/config/x &&
                  tar -C /tmp/evil-$$ -czf {{ app_dir }}/../backups/config.tgz
                  --transform 's,^config/x,config/../../../../../../../../..\(outside),' config/x && rm -rf /tmp/evil-$$
              - name: fail
                shell: exit 1
            """, name: "evil.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store])
        #expect(status == 4, "\(output.suffix(800))")
        #expect(output.contains("web1"))
        #expect(!FileManager.default.fileExists(atPath: outside), "the archive wrote outside its directory")
        // The config directory was left as it was, not half-restored.
        #expect(try String(contentsOfFile: live.host("web1")!.appDirectory + "/config/app.conf", encoding: .utf8) == "request_timeout = 10s\n")
    }

    @Test func aDamagedBackupIsNotRestoredAndTheTreeIsLeftAsTheDeployLeftIt() throws {
        // A deploy step cuts the backup to half (a bad block, a full disk), changes the tree, then fails.
        let releases = live.host("web1")!.appDirectory + "/releases"
        let untouched = try treeListing(releases + "/1.0.0")
        let play = try live.write(
            """
            name: damaged backup
            hosts: web1
            backup:
              - name: snapshot
                archive: { path: "{{ app_dir }}/releases", to: "{{ app_dir }}/../backups/releases-{{ run.id }}.tgz" }
            deploy:
              - name: damage and change
                shell: >-
                  a={{ app_dir }}/../backups/releases-{{ run.id }}.tgz && truncate -s $(( $(stat -c %s $a) / 2 )) $a &&
                  mkdir -p {{ app_dir }}/releases/2.0.0 && echo two > {{ app_dir }}/releases/2.0.0/health
              - name: fail
                shell: exit 1
            """, name: "damaged.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store])
        #expect(status == 4, "\(output.suffix(800))")
        #expect(output.contains("web1") && output.contains("restore refused, nothing was touched") && output.contains("releases-"), "\(output.suffix(1200))")
        // Not half-restored: the release the deploy never touched is whole, the new one still there.
        #expect(try treeListing(releases + "/1.0.0") == untouched)
        #expect(FileManager.default.fileExists(atPath: releases + "/2.0.0/health"))
    }

    @Test func deepNestingIsRefusedWithALocationInsteadOfCrashing() throws {
        let parentheses = String(repeating: "(", count: 2000) + "true" + String(repeating: ")", count: 2000)
        let nots = String(repeating: "not ", count: 100_000) + "true"
        for (label, condition) in [("parentheses", parentheses), ("nots", nots)] {
            let play = try live.write("name: deep\nhosts: web1\ndeploy:\n  - shell: \"true\"\n    when: \(condition)\n", name: "deep.yml")
            let (status, output) = try golive.run(["validate", play, "-i", live.inventoryPath])
            #expect(status == 2, "\(label): \(output.prefix(300))")
            #expect(output.contains("deep.yml:5:") && (output.contains("nested too deeply") || output.contains("too long")), "\(label): \(output.prefix(300))")
        }
        // The same inside a template file, and an unterminated placeholder there: found by validate.
        for (label, text) in [("deep", "{{ " + parentheses + " }}"), ("unterminated", "line one\nvalue: {{ app_dir\n")] {
            try text.write(toFile: live.directory + "/t-\(label).txt", atomically: true, encoding: .utf8)
            let play = try live.write(
                "name: t\nhosts: web1\ndeploy:\n  - template: { src: t-\(label).txt, dest: /tmp/golive-t-out }\n", name: "t-\(label).yml")
            let (status, output) = try golive.run(["validate", play, "-i", live.inventoryPath])
            #expect(status == 2, "\(label): \(output.prefix(300))")
            #expect(output.contains("t-\(label).txt:"), "\(label): \(output.prefix(300))")
        }
    }

    @Test func numbersAndTimesOutOfRangeAreRefusedAtValidate() throws {
        let cases: [(String, String)] = [
            ("  - shell: \"true\"\n    timeout: 9223372036854775807s\n", "out of range"),
            ("  - shell: \"true\"\n    timeout: 367d\n", "out of range"),
            ("  - shell: \"true\"\n    delay: 99999999999999999999999h\n", "out of range"),
            ("  - shell: \"true\"\n    retries: 100000\n", "out of range"),
        ]
        for (step, words) in cases {
            let play = try live.write("name: n\nhosts: web1\ndeploy:\n" + step, name: "range.yml")
            for command in ["validate", "plan"] {
                let (status, output) = try golive.run([command, play, "-i", live.inventoryPath])
                #expect(status == 2 && output.contains("range.yml:5:") && output.contains(words), "\(command) \(step): \(output.prefix(300))")
            }
        }
        for (window, words) in [
            ("start: 2026-02-30T22:00:00+00:00\n  end: 2026-03-01T02:00:00+00:00", "2026-02-30"),
            ("start: 2026-11-28T22:00:00+25:00\n  end: 2026-11-29T02:00:00+00:00", "+25:00"),
            ("start: 2026-11-28T24:00:00Z\n  end: 2026-11-29T02:00:00Z", "T24"),
            ("start: 2026-11-28 22:00:00+01:00\n  end: 2026-11-29T02:00:00Z", "22:00:00"),
        ] {
            let play = try live.write("name: w\nhosts: web1\nwindow:\n  \(window)\ndeploy:\n  - shell: \"true\"\n", name: "window.yml")
            let (status, output) = try golive.run(["validate", play, "-i", live.inventoryPath])
            #expect(status == 2 && output.contains("window.yml:4:") && output.contains(words) && output.contains("RFC 3339"), "\(window): \(output.prefix(300))")
        }
        // Leap days exist.
        let leap = try live.write(
            "name: w\nhosts: web1\nwindow:\n  start: 2028-02-29T22:00:00+00:00\n  end: 2028-03-01T02:00:00+00:00\ndeploy:\n  - shell: \"true\"\n",
            name: "leap.yml")
        #expect(try golive.run(["validate", leap, "-i", live.inventoryPath]).status == 0)
    }

    @Test func aRelativeUploadDestinationIsRefusedAtValidate() throws {
        _ = try live.shell("echo x > \(live.directory)/f.txt")
        let play = try live.write("name: r\nhosts: web1\ndeploy:\n  - upload: { src: f.txt, dest: conf/app.conf }\n", name: "relative.yml")
        let (status, output) = try golive.run(["validate", play, "-i", live.inventoryPath])
        #expect(status == 2 && output.contains("relative.yml:4:") && output.contains("relative path"), "\(output.prefix(400))")
    }

    @Test func hostOutputCannotDriveTheOperatorsTerminal() throws {
        let play = try live.write(
            """
            name: escapes
            hosts: web1
            deploy:
              - name: forge a line
                shell: printf '\\033[1A\\033[2K\\033[32mweb1 rolled back OK\\033[0m\\r\\033]0;owned\\007\\233X\\n' >&2; exit 3
            """, name: "escapes.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", store, "--no-color"])
        #expect(status == 1)
        #expect(!output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B || $0.value == 0x0D }, "a control character reached the console")
        #expect(output.contains("\\e[1A\\e[2K"), "\(output.suffix(600))")
    }

    @Test func aStoreOthersCouldReadIsTightenedOnOpen() throws {
        let path = live.directory + "/loose/golive.sqlite"
        let play = try live.write("name: s\nhosts: web1\ndeploy:\n  - shell: \"true\"\n", name: "store.yml")
        #expect(try golive.run(["run", play, "-i", live.inventoryPath, "--store", path]).status == 0)
        chmod(path, 0o644)
        if FileManager.default.fileExists(atPath: path + "-wal") { chmod(path + "-wal", 0o644) }
        #expect(try golive.run(["runs", "--store", path]).status == 0)
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o600, "\(file): \(String(mode ?? 0, radix: 8))")
        }
    }

    @Test func theStoreAndTheHostLocksArePrivate() throws {
        let directory = live.directory + "/private/store"
        let play = try live.write(
            "name: hold\nhosts: web1\ndeploy:\n  - name: look at the lock\n    shell: stat -c %a \"$GOLIVE_LOCK_ROOT/lock\" \"$GOLIVE_LOCK_ROOT/lock/token\" \"$GOLIVE_LOCK_ROOT/lock/pg\"\n",
            name: "hold.yml")
        let (status, output) = try golive.run(["run", play, "-i", live.inventoryPath, "--store", directory + "/golive.sqlite", "--json"])
        #expect(status == 0, "\(output.suffix(500))")
        let mode = { (path: String) in (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue }
        #expect(mode(directory) == 0o700)
        #expect(mode(directory + "/golive.sqlite") == 0o600)
        // The lock directory on the host, as the step saw it while the run held it.
        #expect(output.contains("\"stdout\":\"700\\n600\\n700\\n\""), "\(output.suffix(1500))")
    }
}
