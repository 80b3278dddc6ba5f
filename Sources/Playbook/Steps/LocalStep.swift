import Foundation
import Yams

/// `local:` a command line for the controller's shell.
extension PlaybookParser {
    func parseLocal(_ node: Node, _ path: String, owner: String?) -> Step.Action? {
        reader.template(node, path).map(Step.Action.local)
    }
}
