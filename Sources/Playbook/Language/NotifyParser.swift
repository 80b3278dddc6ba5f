import Foundation
import Yams

/// `notify:` — a list of targets, read the same way in an inventory and in a playbook.
struct NotifyParser {
    let reader: YAMLReader

    static let keys = ["name", "webhook", "slack", "command", "secret", "headers", "events", "timeout", "retries", "before_rollback_point", "late_margin"]

    func parse(_ node: Node, _ path: String) -> [NotifyTarget] {
        guard let items = reader.sequence(node, path) else { return [] }
        var targets: [NotifyTarget] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let entries = reader.mapping(item, itemPath, allowed: Self.keys) else { continue }
            let kinds = entries.filter { NotifyTarget.Kind(rawValue: $0.key) != nil }
            guard kinds.count == 1, let kindEntry = kinds.first, let kind = NotifyTarget.Kind(rawValue: kindEntry.key) else {
                reader.error(
                    .invalidValue("a notification target has exactly one of webhook, slack, command; found \(kinds.isEmpty ? "none" : kinds.map(\.key).joined(separator: " and "))"),
                    item, itemPath)
                continue
            }
            guard let address = text(kindEntry.value, "\(itemPath).\(kind.rawValue)") else { continue }
            if kind != .command, case .literal(let url) = address {
                guard let parsed = URLComponents(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host?.isEmpty == false else {
                    reader.error(.invalidValue("not an http(s) URL"), kindEntry.value, "\(itemPath).\(kind.rawValue)")
                    continue
                }
            }
            var target = NotifyTarget(
                name: "\(kind.rawValue)-\(index + 1)", kind: kind, address: address, events: NotifyTarget.defaultEvents,
                location: reader.location(item))
            for entry in entries where entry.key != kindEntry.key {
                let keyPath = "\(itemPath).\(entry.key)"
                switch entry.key {
                case "name": target.name = reader.nonEmptyString(entry.value, keyPath) ?? target.name
                case "secret":
                    guard kind == .webhook else {
                        reader.error(.conflict("`secret` signs a webhook's body; a \(kind.rawValue) target has none"), entry.value, keyPath)
                        continue
                    }
                    if case .secret(let name) = text(entry.value, keyPath) {
                        target.signingSecret = name
                    } else {
                        reader.error(.invalidValue("the signing key is a secret: write `secret: { secret: NAME }`"), entry.value, keyPath)
                    }
                case "headers":
                    guard kind == .webhook else {
                        reader.error(.conflict("`headers` apply to a webhook"), entry.value, keyPath)
                        continue
                    }
                    for header in reader.mapping(entry.value, keyPath) ?? [] {
                        let headerPath = "\(keyPath).\(header.key)"
                        guard !header.key.isEmpty, header.key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }) else {
                            reader.error(.invalidValue("'\(header.key)' is not an HTTP header name (letters, digits, - and _)"), header.keyNode, headerPath)
                            continue
                        }
                        guard let value = text(header.value, headerPath) else { continue }
                        if case .literal(let literal) = value, literal.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                            reader.error(.invalidValue("a header's value is one line, without control characters"), header.value, headerPath)
                            continue
                        }
                        target.headers[header.key] = value
                    }
                case "events":
                    var events: Set<NotifyTarget.Event> = []
                    for (offset, node) in (reader.sequence(entry.value, keyPath) ?? []).enumerated() {
                        guard let name = reader.nonEmptyString(node, "\(keyPath)[\(offset)]") else { continue }
                        if let event = NotifyTarget.Event(rawValue: name), event != .test {
                            events.insert(event)
                        } else {
                            reader.error(
                                .invalidValue("'\(name)' is not an event"), node, "\(keyPath)[\(offset)]",
                                hint: "events: \(NotifyTarget.defaultEvents.map(\.rawValue).sorted().joined(separator: ", "))")
                        }
                    }
                    target.events = events
                case "timeout": target.timeout = reader.duration(entry.value, keyPath, positive: true) ?? target.timeout
                case "retries": target.retries = reader.int(entry.value, keyPath, range: 0...10) ?? target.retries
                case "before_rollback_point": target.beforeRollbackPoint = reader.duration(entry.value, keyPath, positive: true) ?? target.beforeRollbackPoint
                case "late_margin": target.lateMargin = reader.duration(entry.value, keyPath, positive: true)
                default: break
                }
            }
            if targets.contains(where: { $0.name == target.name }) {
                reader.error(.invalidValue("a second notification target named '\(target.name)'"), item, itemPath)
                continue
            }
            targets.append(target)
        }
        return targets
    }

    /// A text, or `{ secret: NAME }`.
    private func text(_ node: Node, _ path: String) -> NotifyTarget.Text? {
        if case .mapping = node {
            guard let entries = reader.mapping(node, path, allowed: ["secret"]),
                let name = entries.first.flatMap({ reader.nonEmptyString($0.value, "\(path).secret") })
            else { return nil }
            return .secret(name)
        }
        return reader.nonEmptyString(node, path).map { .literal($0) }
    }
}
