import Foundation
import Yams

/// `command:` an argument vector, each element quoted: no shell interpretation.
extension PlaybookParser {
    func parseCommand(_ node: Node, _ path: String, owner: String?) -> Step.Action? {
        guard let items = reader.sequence(node, path) else { return nil }
        if items.isEmpty {
            reader.error(.invalidValue("command needs at least the program"), node, path)
            return nil
        }
        let argv = items.enumerated().compactMap { reader.template($1, "\(path)[\($0)]") }
        return argv.count == items.count ? .command(argv) : nil
    }
}
