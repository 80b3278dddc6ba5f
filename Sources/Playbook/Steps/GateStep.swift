import Foundation
import Yams

/// `gate:` a question to the operator before the rest of the batch.
extension PlaybookParser {
    func parseGate(_ node: Node, _ path: String, owner: String?) -> Step.Action? {
        reader.template(node, path).map { .gate(Gate(prompt: $0, owner: owner)) }
    }
}
