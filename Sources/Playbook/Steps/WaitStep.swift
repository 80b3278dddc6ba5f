import Foundation
import Yams

/// `wait: { port | file | command, host, timeout, interval }` polled on the host until true.
extension PlaybookParser {
    func parseWait(_ node: Node, _ path: String, owner: String?) -> Step.Action? {
        guard let entries = reader.mapping(node, path, allowed: ["port", "host", "file", "command", "timeout", "interval"]) else {
            return nil
        }
        var condition: WaitCheck.Condition?
        var timeout = Duration.seconds(60), interval = Duration.seconds(1)
        var host: Template?
        var conditions = 0
        for entry in entries {
            let keyPath = "\(path).\(entry.key)"
            switch entry.key {
            case "port":
                conditions += 1
                if let port = reader.int(entry.value, keyPath, range: 1...65535) { condition = .port(port, host: nil) }
            case "host": host = reader.template(entry.value, keyPath)
            case "file":
                conditions += 1
                condition = reader.template(entry.value, keyPath).map(WaitCheck.Condition.file)
            case "command":
                conditions += 1
                condition = reader.template(entry.value, keyPath).map(WaitCheck.Condition.command)
            case "timeout": timeout = reader.duration(entry.value, keyPath, positive: true) ?? timeout
            default: interval = reader.duration(entry.value, keyPath, positive: true) ?? interval
            }
        }
        if conditions != 1 {
            reader.error(.invalidValue("wait needs exactly one of port, file, command"), node, path)
            return nil
        }
        if case .port(let port, _) = condition { condition = .port(port, host: host) }
        guard let condition else { return nil }
        return .wait(WaitCheck(condition: condition, timeout: timeout, interval: interval))
    }
}
