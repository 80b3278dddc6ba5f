import Foundation
import Testing

/// Every module a target imports is a dependency it declares in Package.swift: a build must never
/// work only because another target happened to be built first.
struct PackageImportsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Modules that come with the toolchain or the system.
    static let platform: Set<String> = ["Foundation", "FoundationNetworking", "Glibc", "Darwin", "Dispatch", "Synchronization", "Testing", "XCTest"]

    /// Each target of Package.swift with the names in its dependency list.
    static func targets() throws -> [(name: String, dependencies: Set<String>)] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"\.(?:target|executableTarget|testTarget)\(\s*name: "(\w+)"(.*?)swiftSettings"#, options: [.dotMatchesLineSeparators])
        let text = manifest as NSString
        return pattern.matches(in: manifest, range: NSRange(location: 0, length: text.length)).map { match in
            let body = text.substring(with: match.range(at: 2))
            let listed = body.components(separatedBy: "dependencies:").dropFirst().joined()
            let names = listed.components(separatedBy: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            return (text.substring(with: match.range(at: 1)), Set(names))
        }
    }

    @Test func everyImportIsADeclaredDependency() throws {
        let targets = try Self.targets()
        #expect(targets.count >= 10)
        for target in targets {
            var directory = Self.root.appendingPathComponent("Sources/" + target.name)
            if !FileManager.default.fileExists(atPath: directory.path) { directory = Self.root.appendingPathComponent("Tests/" + target.name) }
            let files = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            #expect(!files.isEmpty, "\(target.name) has no sources at \(directory.path)")
            for file in files {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ").map(String.init)
                    guard let index = words.firstIndex(of: "import"), index <= 1, index + 1 < words.count else { continue }
                    if index == 1 && !["@testable", "internal", "public", "private"].contains(words[0]) { continue }
                    let module = words[index + 1]
                    // A Swift module name (an `import` inside an embedded script is not one).
                    guard module.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
                    #expect(
                        Self.platform.contains(module) || target.dependencies.contains(module),
                        "\(target.name)/\(file) imports \(module), which Package.swift does not list as its dependency")
                }
            }
        }
    }
}
