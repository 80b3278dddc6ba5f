import Foundation
import GoliveTestSupport
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
        #expect(status == 1, "\(output.suffix(800))")
        #expect(output.contains("it climbs out with '..'"))
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
