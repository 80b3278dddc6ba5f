import Foundation
import Yams

/// `tcp: { port, host, timeout }` a connect from the controller.
extension PlaybookParser {
    func parseTCP(_ node: Node, _ path: String) -> TCPCheck? {
        guard let entries = reader.mapping(node, path, allowed: ["port", "host", "timeout"]) else { return nil }
        var port: Int?, host: Template?, timeout = Duration.seconds(5)
        for entry in entries {
            let keyPath = "\(path).\(entry.key)"
            switch entry.key {
            case "port": port = reader.int(entry.value, keyPath, range: 1...65535)
            case "host": host = reader.template(entry.value, keyPath)
            default: timeout = reader.duration(entry.value, keyPath, positive: true) ?? timeout
            }
        }
        guard let port else {
            if !entries.contains(where: { $0.key == "port" }) { reader.error(.missingKey("port"), node, path) }
            return nil
        }
        return TCPCheck(host: host, port: port, timeout: timeout)
    }
}
