import Foundation
import GoliveTestSupport
import Playbook
import Sandbox
import System
import Testing

@testable import Engine

/// The restore of an `archive` backup: verified before anything is touched, put in place by two
/// renames, and every failing sub-step a failure — through real `/bin/sh` (dash) and `bash`.
@Suite(.serialized) struct ArchiveRestoreTests {
    let directory: String

    init() throws { directory = try TestHosts.makeTemporaryDirectory(name: "restore") }

    /// `app` with files, a symlink and modes; archived with the real script into `backups/app.tgz`.
    func makeApp(_ shell: String) throws -> (app: String, archive: String, backup: BackupDetails) {
        let base = directory + "/" + UUID().uuidString
        let app = base + "/srv/app", archive = base + "/backups/app.tgz"
        _ = try HostTools.sh(
            """
            mkdir -p \(app)/releases/1.0.0 \(app)/config && echo one > \(app)/releases/1.0.0/health
            echo 'secret = 1' > \(app)/config/app.conf && chmod 600 \(app)/config/app.conf
            ln -s releases/1.0.0 \(app)/current && seq 1 5000 > \(app)/releases/1.0.0/data
            """)
        let out = try HostTools.output(shell, ["-c", ArchiveScripts.create(path: app, archive: archive)])
        let fields = out.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        try #require(fields.count == 3, "\(out)")
        return (app, archive, BackupDetails(path: app, archive: archive, sha256: fields[0], bytes: fields[1], existed: fields[2]))
    }

    func restore(_ shell: String, _ backup: BackupDetails, tag: String = "t1") throws -> (status: Int32, output: String) {
        try ChildProcess.run(
            shell,
            ["-c", ArchiveScripts.restore(path: backup.path, archive: backup.archive, sha256: backup.sha256, bytes: backup.bytes, existed: backup.pathExisted, tag: tag)])
    }

    /// The deploy's changes: a new release, a changed file, a removed one.
    func change(_ app: String) throws {
        _ = try HostTools.sh(
            "mkdir -p \(app)/releases/2.0.0 && echo two > \(app)/releases/2.0.0/health && ln -sfn releases/2.0.0 \(app)/current"
                + " && echo 'secret = 2' > \(app)/config/app.conf && rm \(app)/releases/1.0.0/data")
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func aRestorePutsBackTheTreeExactly(shell: String) throws {
        let (app, _, backup) = try makeApp(shell)
        let before = try treeListing(app)
        try change(app)
        #expect(try treeListing(app) != before)
        let (status, output) = try restore(shell, backup)
        #expect(status == 0, "\(output)")
        #expect(try treeListing(app) == before)
        // Nothing is left beside it: no temporary copy, no aside copy.
        let parent = URL(fileURLWithPath: app).deletingLastPathComponent().path
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["app"])
        // Running it again (a resume after a kill) gives the same tree.
        #expect(try restore(shell, backup).status == 0)
        #expect(try treeListing(app) == before)
    }

    /// Each way the archive can be unfit: the restore refuses (exit 3) and the tree is untouched.
    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func anArchiveThatDoesNotVerifyLeavesTheTreeUntouched(shell: String) throws {
        let damages: [(String, (String) throws -> Void, String)] = [
            ("missing", { archive in try FileManager.default.removeItem(atPath: archive) }, "is missing"),
            ("truncated to half", { archive in _ = try HostTools.sh("truncate -s $(( $(stat -c %s \(archive)) / 2 )) \(archive)") }, "were recorded when it was made"),
            ("one byte changed", { archive in _ = try HostTools.sh("printf 'X' | dd of=\(archive) bs=1 seek=100 conv=notrunc 2>/dev/null") }, "sha256"),
        ]
        for (label, damage, words) in damages {
            let (app, archive, backup) = try makeApp(shell)
            try change(app)
            let changed = try treeListing(app)
            try damage(archive)
            let (status, output) = try restore(shell, backup)
            #expect(status == Int32(ArchiveScripts.refusedStatus), "\(label): \(output)")
            #expect(output.contains("nothing was touched") && output.contains(words), "\(label): \(output)")
            #expect(try treeListing(app) == changed, "\(label): the tree was touched")
        }
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func anArchiveSwappedWhileTheRestoreReadsItIsNotWhatGetsRestored(shell: String) throws {
        let (app, archive, backup) = try makeApp(shell)
        let before = try treeListing(app)
        try change(app)
        // Another archive of the same tree with one file more, put over the original the moment the
        // restore first computes a checksum (a `sha256sum` that swaps, then checksums).
        let parent = URL(fileURLWithPath: app).deletingLastPathComponent().path
        let evil = directory + "/" + UUID().uuidString + ".tgz"
        _ = try HostTools.sh("mkdir -p \(directory)/evil/app && echo EVIL > \(directory)/evil/app/EVIL && tar -C \(directory)/evil -czf \(evil) app")
        let shim = directory + "/shim-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: shim, withIntermediateDirectories: true)
        try "#!/bin/sh\n[ -f \(evil) ] && mv -f \(evil) \(archive)\nexec /usr/bin/sha256sum \"$@\"\n".write(
            toFile: shim + "/sha256sum", atomically: true, encoding: .utf8)
        chmod(shim + "/sha256sum", 0o755)
        let script = ArchiveScripts.restore(
            path: app, archive: archive, sha256: backup.sha256, bytes: backup.bytes, existed: true, tag: "swap")
        let (status, output) = try ChildProcess.run(shell, ["-c", script], environment: ["PATH": "\(shim):/usr/bin:/bin"])
        #expect(status == 0, "\(output)")
        #expect(try treeListing(app) == before, "what was restored is not what was verified")
        #expect(!FileManager.default.fileExists(atPath: app + "/EVIL"))
        _ = parent
        // The archive itself was swapped meanwhile: a second restore refuses it.
        let again = try ChildProcess.run(shell, ["-c", script])
        #expect(again.status == Int32(ArchiveScripts.refusedStatus), "\(again.output)")
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func anArchiveThatIsNoLongerAPlainFileIsRefusedSayingSo(shell: String) throws {
        for (kind, make, words) in [
            ("symlink", "ln -sf /etc/hostname", "symbolic link"), ("fifo", "mkfifo", "not a regular file"), ("directory", "mkdir", "not a regular file"),
        ] {
            let (app, archive, backup) = try makeApp(shell)
            try change(app)
            let changed = try treeListing(app)
            try FileManager.default.removeItem(atPath: archive)
            _ = try HostTools.sh("\(make) \(archive)")
            let (status, output) = try restore(shell, backup)
            #expect(status == Int32(ArchiveScripts.refusedStatus) && output.contains(words), "\(kind): \(output)")
            #expect(try treeListing(app) == changed, "\(kind)")
        }
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func aTreeWithUnicodeNamesIsRestoredAndOneWithANewlineIsRefusedAtBackup(shell: String) throws {
        let base = directory + "/" + UUID().uuidString
        let app = base + "/dätä ✓"
        _ = try HostTools.sh("mkdir -p \(ShellQuote.quote(app + "/ünï")) && echo x > \(ShellQuote.quote(app + "/ünï/fïlé ☃"))")
        let out = try HostTools.output(shell, ["-c", ArchiveScripts.create(path: app, archive: base + "/b.tgz")])
        let fields = out.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let before = try treeListing(app)
        _ = try HostTools.sh("rm -rf \(ShellQuote.quote(app + "/ünï")) && echo new > \(ShellQuote.quote(app + "/added"))")
        let (status, output) = try restore(shell, BackupDetails(path: app, archive: base + "/b.tgz", sha256: fields[0], bytes: fields[1], existed: "1"))
        #expect(status == 0, "\(output)")
        #expect(try treeListing(app) == before)
        _ = try HostTools.sh("printf x > \(ShellQuote.quote(app))/\"$(printf 'new\\nline')\"")
        let (refused, words) = try ChildProcess.run(shell, ["-c", ArchiveScripts.create(path: app, archive: base + "/c.tgz")])
        #expect(refused == 2 && words.contains("newline"), "\(words)")
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func aSoundChecksumOfABrokenArchiveIsStillRefused(shell: String) throws {
        // The recorded size and sha256 match, but the file is no gzip (a backup that was never
        // sound): caught by gzip -t before anything is touched.
        let (app, archive, _) = try makeApp(shell)
        _ = try HostTools.sh("head -c 4000 /dev/urandom > \(archive)")
        let sum = try HostTools.sh("sha256sum \(archive) | cut -d' ' -f1").trimmingCharacters(in: .whitespacesAndNewlines)
        try change(app)
        let changed = try treeListing(app)
        let (status, output) = try restore(shell, BackupDetails(path: app, archive: archive, sha256: sum, bytes: "4000", existed: "1"))
        #expect(status == Int32(ArchiveScripts.refusedStatus) && output.contains("not sound gzip"), "\(output)")
        #expect(try treeListing(app) == changed)
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func anArchiveWithEntriesOutsideItsPathIsRefused(shell: String) throws {
        let (app, archive, _) = try makeApp(shell)
        let parent = URL(fileURLWithPath: app).deletingLastPathComponent().path
        _ = try HostTools.sh("mkdir -p \(parent)/other && echo x > \(parent)/other/f && tar -C \(parent) -czf \(archive) app other")
        let sum = try HostTools.sh("sha256sum \(archive) | cut -d' ' -f1").trimmingCharacters(in: .whitespacesAndNewlines)
        let size = try HostTools.sh("stat -c %s \(archive)").trimmingCharacters(in: .whitespacesAndNewlines)
        try change(app)
        let changed = try treeListing(app)
        let (status, output) = try restore(shell, BackupDetails(path: app, archive: archive, sha256: sum, bytes: size, existed: "1"))
        #expect(status == Int32(ArchiveScripts.refusedStatus) && output.contains("would land outside"), "\(output)")
        #expect(try treeListing(app) == changed)
    }

    @Test(.enabled(if: geteuid() == 0, "mounting a small filesystem needs root"), arguments: ["/bin/sh", "/bin/bash"])
    func aDiskThatCannotHoldBothCopiesIsFoundOutFirst(shell: String) throws {
        let disk = directory + "/small-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        _ = try HostTools.sh("mount -t tmpfs -o size=1m golive-test \(disk)")
        defer { _ = try? HostTools.sh("umount -l \(disk)") }
        let app = disk + "/app", archive = directory + "/\(UUID().uuidString).tgz"
        // 600 KB of incompressible data: one copy fits in the 1 MB disk, two do not.
        _ = try HostTools.sh("mkdir -p \(app) && head -c 614400 /dev/urandom > \(app)/blob && echo v1 > \(app)/version")
        let out = try HostTools.output(shell, ["-c", ArchiveScripts.create(path: app, archive: archive)])
        let fields = out.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        _ = try HostTools.sh("echo v2 > \(app)/version")
        let changed = try treeListing(app)
        let (status, output) = try restore(shell, BackupDetails(path: app, archive: archive, sha256: fields[0], bytes: fields[1], existed: "1"))
        #expect(status == Int32(ArchiveScripts.refusedStatus) && output.contains("bytes free"), "\(output)")
        #expect(try treeListing(app) == changed)
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func aRestoreKilledBetweenItsTwoRenamesIsFinishedByTheNextOne(shell: String) throws {
        let (app, _, backup) = try makeApp(shell)
        let before = try treeListing(app)
        try change(app)
        // As the script leaves things when killed after the first rename: the current tree
        // aside, the path missing, a half-made temporary copy.
        let parent = URL(fileURLWithPath: app).deletingLastPathComponent().path
        _ = try HostTools.sh("mv \(app) \(parent)/.app.golive-aside-t1 && mkdir -p \(parent)/.app.golive-restore-t1/app/junk")
        let (status, output) = try restore(shell, backup)
        #expect(status == 0, "\(output)")
        #expect(try treeListing(app) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["app"])
        // Killed after the second rename, before the aside copy was removed: finished alike.
        try change(app)
        _ = try HostTools.sh("cp -a \(app) \(parent)/.app.golive-aside-t1")
        #expect(try restore(shell, backup).status == 0)
        #expect(try treeListing(app) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["app"])
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func anArchiveInsideItsOwnPathIsRefusedOnTheHostWithSymlinksResolved(shell: String) throws {
        let base = directory + "/" + UUID().uuidString
        _ = try HostTools.sh("mkdir -p \(base)/srv/app/data && echo x > \(base)/srv/app/data/f && ln -s \(base)/srv/app \(base)/alias")
        // `alias/backups` does not look inside `srv/app`, but it is.
        let (status, output) = try ChildProcess.run(
            shell, ["-c", ArchiveScripts.create(path: base + "/srv/app", archive: base + "/alias/backups/app.tgz")])
        #expect(status == 2 && output.contains("inside the path it backs up"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: base + "/srv/app/backups/app.tgz"))
    }

    @Test func validateRefusesAnArchiveStoredInsideThePathItBacksUp() throws {
        let live = try ScriptedRun(hosts: 2)
        let playbook = """
            name: backup inside
            hosts: web
            vars: { app_dir: /srv/app }
            backup:
              - name: snapshot
                archive: { path: "{{ app_dir }}", to: "{{ app_dir }}/backups/app-{{ run.id }}.tgz" }
            deploy:
              - shell: "true"
            """
        #expect {
            _ = try live.load(playbook)
        } throws: { error in
            let text = "\(error)"
            return text.contains(":6:") && text.contains("backup[0].archive.to")
                && text.contains("/srv/app/backups/app-RUN-ID.tgz is inside the path it backs up, /srv/app")
        }
        // Beside the path is fine, and so is a path that merely starts with the same letters.
        _ = try live.load(playbook.replacingOccurrences(of: "to: \"{{ app_dir }}/backups/", with: "to: \"{{ app_dir }}-backups/"))
    }
}
