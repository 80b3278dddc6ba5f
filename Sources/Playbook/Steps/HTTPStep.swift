import Foundation
import Yams

/// `http: { url, status, contains, timeout, via }` a request from the controller or the host.
extension PlaybookParser {
    func parseHTTP(_ node: Node, _ path: String) -> HTTPCheck? {
        guard let entries = reader.mapping(node, path, allowed: ["url", "status", "contains", "timeout", "via"]) else { return nil }
        var url: Template?, status = 200, contains: Template?, timeout = Duration.seconds(5), viaHost = false
        for entry in entries {
            let keyPath = "\(path).\(entry.key)"
            switch entry.key {
            case "url":
                url = reader.template(entry.value, keyPath)
                if let url, url.isLiteral, URL(string: url.source)?.scheme.map({ ["http", "https"].contains($0) }) != true {
                    reader.error(.invalidValue("'\(url.source)' is not an http(s) URL"), entry.value, keyPath)
                } else if let url, !url.source.hasPrefix("http://") && !url.source.hasPrefix("https://") && !url.source.hasPrefix("{{") {
                    reader.error(.invalidValue("'\(url.source)' is not an http(s) URL"), entry.value, keyPath)
                }
            case "status": status = reader.int(entry.value, keyPath, range: 100...599) ?? status
            case "contains": contains = reader.template(entry.value, keyPath)
            case "timeout": timeout = reader.duration(entry.value, keyPath, positive: true) ?? timeout
            default:
                if let via = reader.string(entry.value, keyPath) {
                    if via == "host" { viaHost = true } else if via != "controller" {
                        reader.error(.invalidValue("via is 'host' or 'controller', not '\(via)'"), entry.value, keyPath)
                    }
                }
            }
        }
        guard let url else {
            reader.error(.missingKey("url"), node, path)
            return nil
        }
        return HTTPCheck(url: url, status: status, contains: contains, timeout: timeout, viaHost: viaHost)
    }
}
