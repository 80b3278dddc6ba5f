import Foundation
import Playbook
import Testing

/// Every file under Fixtures/invalid starts with `# expect: LINE:COL message`, written for the lines
/// after that comment; the loader must report exactly that position and message.
struct DiagnosticCorpusTests {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/invalid")
    static let files: [String] = (try? FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yml") }.sorted()) ?? []

    @Test func theCorpusIsLarge() {
        #expect(Self.files.count >= 40)
    }

    @Test(arguments: files) func reportsTheExactPlaceAndMessage(_ name: String) throws {
        let path = Self.directory.appendingPathComponent(name).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let header = try #require(text.split(separator: "\n").first)
        let expectation = header.dropFirst("# expect: ".count)
        let position = try #require(expectation.split(separator: " ").first)
        let message = expectation.dropFirst(position.count + 1)
        let parts = position.split(separator: ":").compactMap { Int($0) }
        let line = parts[0] + 1, column = parts[1]
        let diagnostics: [PlaybookError]
        if name.hasPrefix("inventory-") {
            do {
                _ = try Inventory.load(file: path)
                diagnostics = []
            } catch {
                diagnostics = error.diagnostics
            }
        } else {
            do {
                _ = try Playbook.load(file: path)
                diagnostics = []
            } catch {
                diagnostics = error.diagnostics
            }
        }
        let errors = diagnostics.filter { $0.severity == .error }
        #expect(!errors.isEmpty, "\(name) was accepted")
        let match = errors.first { $0.location.line == line && $0.location.column == column && $0.description.contains(message) }
        #expect(match != nil, "\(name): expected \(line):\(column) \(message), got:\n\(errors.map(\.description).joined(separator: "\n"))")
        for error in errors { #expect(error.location.file == path) }
    }

    @Test func reportsEveryErrorOfAFileInOnePass() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("many-\(UUID().uuidString).yml").path
        try "name: x\nhosts: web\nserial: 0\ndeploy:\n  - shell: a\n    timout: 1s\n  - shell: b\n    retries: x\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let failure = try #require(throws: ValidationFailure.self) { try Playbook.load(file: path) }
        #expect(failure.errors.map(\.location.line) == [3, 6, 8])
        #expect(failure.errors[1].hint == "did you mean 'timeout'?")
        let rendered = DiagnosticRenderer().render(failure.errors)
        #expect(rendered.contains("    timout: 1s\n        ^"))
    }
}
