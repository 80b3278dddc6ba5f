import Foundation
import Yams

/// `upload: { src, dest, mode, owner, group }` copies a file; `template:` renders it with the variables first.
extension PlaybookParser {
    func parseTransfer(_ node: Node, _ path: String, rendered: Bool) -> Step.Action? {
        guard let entries = reader.mapping(node, path, allowed: ["src", "dest", "mode", "owner", "group"]) else { return nil }
        var source: Template?, destination: Template?, mode = 0o644
        var owner: String?, group: String?, modeGiven = false
        for entry in entries {
            let keyPath = "\(path).\(entry.key)"
            switch entry.key {
            case "src": source = reader.template(entry.value, keyPath)
            case "dest": destination = reader.template(entry.value, keyPath)
            case "owner", "group":
                guard let name = reader.nonEmptyString(entry.value, keyPath) else { break }
                if BecomeSettings.validUser(name) || name.allSatisfy(\.isNumber) {
                    if entry.key == "owner" { owner = name } else { group = name }
                } else {
                    reader.error(.invalidValue("'\(name)' is not a user or group name"), entry.value, keyPath)
                }
            default:
                if let text = reader.string(entry.value, keyPath) {
                    if let parsed = Int(text, radix: 8), (0...0o7777).contains(parsed), text.allSatisfy(\.isNumber) {
                        mode = parsed
                        modeGiven = true
                    } else {
                        reader.error(.invalidValue("'\(text)' is not an octal file mode"), entry.value, keyPath, hint: "quote it: mode: \"0644\"")
                    }
                }
            }
        }
        for key in ["src", "dest"] where !entries.contains(where: { $0.key == key }) {
            reader.error(.missingKey(key), node, path)
        }
        if let destination, destination.isLiteral, destination.source.split(separator: "/").contains("..") {
            reader.error(.invalidValue("destination '\(destination.source)' climbs out with '..'"), node, "\(path).dest")
            return nil
        }
        guard let source, let destination else { return nil }
        let transfer = Transfer(source: source, destination: destination, mode: mode, owner: owner, group: group, modeGiven: modeGiven)
        return rendered ? .template(transfer) : .upload(transfer)
    }
}
