import Foundation
import Playbook
import Testing

/// The step kinds are one registry: every keyword the parser accepts is a ``StepKind``, and each
/// parses to an action of that very kind.
struct StepKindRegistryTests {
    /// A minimal step of each kind, by keyword.
    static let examples: [StepKind: String] = [
        .shell: "shell: echo hi", .local: "local: echo hi", .command: "command: [echo, hi]",
        .upload: "upload: { src: files/a, dest: /tmp/a }", .template: "template: { src: files/a, dest: /tmp/a }",
        .archive: "archive: { path: /srv/app, to: /var/backups/app.tgz }", .http: "http: { url: \"http://localhost/\" }",
        .tcp: "tcp: { port: 22 }", .wait: "wait: { port: 22 }", .gate: "gate: go on?",
    ]

    @Test(arguments: StepKind.allCases)
    func everyKindParsesToAnActionOfItsKind(_ kind: StepKind) throws {
        let line = try #require(Self.examples[kind], "no example for \(kind): add one")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kinds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("play.yml").path
        // Backups go in their own section.
        let steps = kind == .archive ? "backup:\n  - name: one\n    \(line)\ndeploy:\n  - shell: true\n" : "deploy:\n  - name: one\n    \(line)\n"
        try "name: kinds\nhosts: all\n\(steps)".write(toFile: path, atomically: true, encoding: .utf8)
        let (playbook, problems) = Playbook.parse(file: path)
        #expect(problems.filter { $0.severity == .error }.isEmpty, "\(kind): \(problems)")
        let step = try #require(kind == .archive ? playbook?.plays.first?.backup.first : playbook?.plays.first?.deploy.first)
        #expect(step.action.stepKind == kind && step.action.kind == kind.rawValue)
    }

    @Test func anUnknownKindNamesTheRegisteredOnes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kinds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("play.yml").path
        try "name: kinds\nhosts: all\ndeploy:\n  - name: one\n    copy: { src: a, dest: /b }\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (_, problems) = Playbook.parse(file: path)
        let text = problems.map { "\($0)" }.joined(separator: "\n")
        for kind in StepKind.allCases { #expect(text.contains(kind.rawValue), "\(kind) missing from: \(text)") }
    }
}
