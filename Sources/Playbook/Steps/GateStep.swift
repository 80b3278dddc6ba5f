import Foundation
import Yams

/// `gate:` a question to the operator before the rest of the batch.
extension PlaybookParser {
    func parseGate(_ node: Node, _ path: String, owner: String?) -> Step.Action? {
        reader.template(node, path).map { .gate(Gate(prompt: $0, owner: owner)) }
    }

    /// `approvers:` a gate's list of names (one name alone is a list of one).
    func parseApprovers(_ node: Node, _ path: String) -> [String] {
        let items: [Node]
        if case .scalar = node { items = [node] } else { items = reader.sequence(node, path) ?? [] }
        var names: [String] = []
        for (index, item) in items.enumerated() {
            guard let name = reader.nonEmptyString(item, "\(path)[\(index)]") else { continue }
            if name.contains(where: { $0.isWhitespace || $0.isNewline || $0 == "," }) || name.contains("{{") {
                reader.error(.invalidValue("'\(name)' is not a login name (no spaces, commas or templates)"), item, "\(path)[\(index)]")
            } else if names.contains(name) {
                reader.error(.invalidValue("'\(name)' is listed twice"), item, "\(path)[\(index)]")
            } else {
                names.append(name)
            }
        }
        if items.isEmpty {
            reader.error(.invalidValue("`approvers` lists nobody"), node, path, hint: "leave it out to let anyone who reaches the run answer")
        }
        return names
    }
}
