import System
import Yams

extension YAMLReader {
    /// Reads one `become*` key into `settings`; false when `key` is not one of them.
    @discardableResult
    func become(_ key: String, _ node: Node, _ path: String, into settings: inout BecomeSettings) -> Bool {
        switch key {
        case "become":
            settings.enabled = bool(node, path)
            settings.location = settings.location ?? location(node)
        case "become_user":
            guard let name = nonEmptyString(node, path) else { return true }
            if BecomeSettings.validUser(name) {
                settings.user = name
            } else {
                error(.invalidValue("'\(name)' is not a user name"), node, path, hint: "a plain user name (letters, digits, _ - .), not a template")
            }
        case "become_method":
            guard let name = nonEmptyString(node, path) else { return true }
            if let method = Escalation.Method(rawValue: name) {
                settings.method = method
                settings.location = location(node)
            } else {
                let hint = Suggestions.closest(to: name, in: Escalation.Method.allCases.map(\.rawValue)).map { "did you mean '\($0)'?" }
                error(.invalidValue("'\(name)' is not a become method (sudo, su or doas)"), node, path, hint: hint)
            }
        default: return false
        }
        return true
    }
}
