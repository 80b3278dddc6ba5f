/// A problem in a playbook or inventory, reported before anything is touched (exit code 2).
public struct PlaybookError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable, Hashable {
        /// The file is not valid YAML.
        case syntax(String)
        /// The file cannot be read or is too large.
        case unreadable(String)
        /// A key that is not part of the language here.
        case unknownKey(String)
        /// A required key is absent.
        case missingKey(String)
        /// A value of the wrong YAML type.
        case wrongType(expected: String)
        /// A value of the right type that makes no sense (bad duration, URL, percentage...).
        case invalidValue(String)
        /// A name used twice where it must be unique.
        case duplicate(String)
        /// A template names a variable that does not exist (for the host named in the message).
        case undefinedVariable(String)
        /// A host pattern or reference names no inventory host or group.
        case unknownHost(String)
        /// A secret's environment variable is not set.
        case missingSecret(name: String, variable: String)
        /// Two settings that cannot be used together.
        case conflict(String)

        /// The human-readable message.
        public var message: String {
            switch self {
            case .syntax(let text): "invalid YAML: \(text)"
            case .unreadable(let text): text
            case .unknownKey(let key): "unknown key '\(key)'"
            case .missingKey(let key): "missing required key '\(key)'"
            case .wrongType(let expected): "expected \(expected)"
            case .invalidValue(let text): text
            case .duplicate(let text): text
            case .undefinedVariable(let text): "undefined variable \(text)"
            case .unknownHost(let text): text
            case .missingSecret(let name, let variable):
                "secret '\(name)' needs the environment variable \(variable), which is not set"
            case .conflict(let text): text
            }
        }
    }

    /// How serious the problem is.
    public enum Severity: String, Sendable, Hashable, Codable {
        /// Stops the command (exit 2).
        case error
        /// Reported; the command goes on.
        case warning
    }

    /// What is wrong.
    public var kind: Kind
    /// Where.
    public var location: SourceLocation
    /// The path of keys to the offending value, e.g. `deploy[2].shell`.
    public var keyPath: String
    /// A suggestion, e.g. "did you mean 'timeout'?".
    public var hint: String?
    /// Error or warning.
    public var severity: Severity

    /// Creates an error.
    public init(
        _ kind: Kind, at location: SourceLocation, keyPath: String, hint: String? = nil, severity: Severity = .error
    ) {
        self.kind = kind
        self.location = location
        self.keyPath = keyPath
        self.hint = hint
        self.severity = severity
    }

    /// `file:line:col: error: keyPath: message` and the hint on the next line.
    public var description: String {
        let path = keyPath.isEmpty ? "" : "\(keyPath): "
        return "\(location): \(severity.rawValue): \(path)\(kind.message)" + (hint.map { "\n  hint: \($0)" } ?? "")
    }
}
