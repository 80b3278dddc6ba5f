import Foundation
import Yams

/// `shell:` a command line for the host's shell.
extension PlaybookParser {
    func parseShell(_ node: Node, _ path: String, owner: String?) -> Step.Action? {
        reader.template(node, path).map(Step.Action.shell)
    }
}
