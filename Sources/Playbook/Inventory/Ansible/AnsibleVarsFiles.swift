import Foundation
import Yams

/// The `group_vars/` and `host_vars/` beside an inventory source, found and read as Ansible's
/// `host_group_vars` plugin does: for an entity `NAME`, the first of `NAME`, `NAME.yml`,
/// `NAME.yaml`, `NAME.json` that exists; when it is a directory, every file in it (no
/// extension or one of those; hidden files and `~` backups skipped), sorted, recursively.
final class AnsibleVarsFiles {
    static let extensions = ["", ".yml", ".yaml", ".json"]
    private var cache: [String: [(String, AnsibleInventory.Variable)]] = [:]
    private(set) var diagnostics: [PlaybookError] = []

    /// The directory whose `group_vars/` and `host_vars/` belong to a source: the source itself
    /// when it is a directory, else the directory it is in.
    static func baseDirectory(of source: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue { return source }
        let parent = (source as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// The variables `kind` (`group_vars` or `host_vars`) gives `name` in `base`, later files winning.
    func variables(_ kind: String, _ name: String, in base: String) -> [(String, AnsibleInventory.Variable)] {
        files(kind, name, in: base).flatMap(read)
    }

    private func files(_ kind: String, _ name: String, in base: String) -> [String] {
        let stem = (base as NSString).appendingPathComponent(kind + "/" + name)
        for suffix in Self.extensions {
            let path = stem + suffix
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            return isDirectory.boolValue ? directoryFiles(path, depth: 0) : [path]
        }
        return []
    }

    private func directoryFiles(_ directory: String, depth: Int) -> [String] {
        guard depth < 16, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var found: [String] = []
        for name in names.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) where !name.hasPrefix(".") && !name.hasSuffix("~") {
            let path = (directory as NSString).appendingPathComponent(name)
            let suffix = (name as NSString).pathExtension.isEmpty ? "" : "." + (name as NSString).pathExtension
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue, suffix.isEmpty {
                found += directoryFiles(path, depth: depth + 1)
            } else if !isDirectory.boolValue, Self.extensions.contains(suffix) {
                found.append(path)
            }
        }
        return found
    }

    /// One file's variables (read once).
    private func read(_ path: String) -> [(String, AnsibleInventory.Variable)] {
        if let known = cache[path] { return known }
        var result: [(String, AnsibleInventory.Variable)] = []
        defer { cache[path] = result }
        if let head = FileManager.default.contents(atPath: path)?.prefix(15), String(decoding: head, as: UTF8.self).hasPrefix("$ANSIBLE_VAULT;") {
            diagnostics.append(
                PlaybookError(
                    .invalidValue("this file is encrypted with Ansible Vault, which golive does not read"),
                    at: SourceLocation(file: path, line: 1, column: 1), keyPath: "",
                    hint: AnsibleResolver.vaultHint))
            return result
        }
        let (reader, root) = YAMLReader.load(file: path)
        if let root {
            result = AnsibleYAMLParser(reader: reader).variables(root, path: "")
        } else if reader.diagnostics.contains(where: { if case .syntax("the document is empty") = $0.kind { true } else { false } }) {
            return result
        }
        diagnostics += reader.diagnostics
        return result
    }
}
