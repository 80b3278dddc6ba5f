import Foundation
import Yams

/// `archive: { path, to }` a backup restored exactly on rollback.
extension PlaybookParser {
    func parseArchive(_ node: Node, _ path: String, owner: String?) -> Step.Action? {
        guard let entries = reader.mapping(node, path, allowed: ["path", "to"]) else { return nil }
        var source: Template?, destination: Template?
        for entry in entries {
            if entry.key == "path" { source = reader.template(entry.value, "\(path).path") }
            if entry.key == "to" { destination = reader.template(entry.value, "\(path).to") }
        }
        for key in ["path", "to"] where !entries.contains(where: { $0.key == key }) { reader.error(.missingKey(key), node, path) }
        guard let source, let destination else { return nil }
        return .archive(Archive(path: source, destination: destination))
    }
}
