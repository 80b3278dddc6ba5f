import Playbook
import System

/// Turns secret values into `••••` in text shown or stored: the secrets themselves, the forms the
/// template filters and golive's quoting make of them, and every derived value a rendered command
/// used (``learn(_:)``).
public struct Redactor: Sendable {
    private var secrets: [String]

    /// A redactor for these plain values and their derived forms (values shorter than
    /// ``Secret/minimumLength`` are refused when the inventory is loaded).
    public init(secrets: [String]) {
        self.secrets = []
        learn(secrets.flatMap(Self.forms))
    }

    /// What a secret can turn into on the way to a command or an output: the filters' results
    /// (`upper`, `lower`, `trim`, `basename`, `dirname`) and the quoted and escaped forms.
    static func forms(_ secret: String) -> [String] {
        // Case changes as Swift makes them and as ASCII-only tools (`tr a-z A-Z`) do.
        let asciiUpper = String(secret.map { $0.isASCII ? Character($0.uppercased()) : $0 })
        let asciiLower = String(secret.map { $0.isASCII ? Character($0.lowercased()) : $0 })
        var forms = [
            secret, secret.uppercased(), secret.lowercased(), asciiUpper, asciiLower, secret.trimmingCharacters(in: .whitespacesAndNewlines),
        ]
        if secret.contains("/") {
            let trimmed = secret.hasSuffix("/") ? String(secret.dropLast()) : secret
            forms += [trimmed.split(separator: "/").last.map(String.init) ?? "", String(trimmed[..<(trimmed.lastIndex(of: "/") ?? trimmed.startIndex)])]
        }
        for form in forms {
            for placement in [ShellPlacement.bare, .doubleQuoted, .singleQuoted] {
                if let quoted = placement.quote(form) { forms.append(quoted) }
            }
        }
        return forms
    }

    /// Redacts these values too from now on (the secrets a rendered command was built from).
    public mutating func learn(_ values: [String]) {
        let fresh = values.filter { $0.count >= Secret.minimumLength && !secrets.contains($0) }
        guard !fresh.isEmpty else { return }
        secrets = Array(Set(secrets + fresh)).sorted { $0.count > $1.count }
    }

    /// The text with every secret replaced; where output was cut (`… [N bytes cut] …`), a piece of
    /// a secret on either side of the cut is replaced too.
    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Value.redactionMark)
        }
        guard !secrets.isEmpty, result.contains(OutputCapture.cutWords) else { return result }
        return redactAroundCuts(result)
    }

    /// Replaces the end of a secret just before a cut and the start of one just after it.
    private func redactAroundCuts(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let marker = rest.range(of: OutputCapture.cutPattern, options: .regularExpression) {
            var before = String(rest[..<marker.lowerBound])
            for secret in secrets {
                for length in stride(from: secret.count - 1, through: 1, by: -1) where before.hasSuffix(secret.prefix(length)) {
                    before = String(before.dropLast(length)) + Value.redactionMark
                    break
                }
            }
            out += before + rest[marker]
            rest = rest[marker.upperBound...]
            for secret in secrets {
                for length in stride(from: secret.count - 1, through: 1, by: -1) where rest.hasPrefix(secret.suffix(length)) {
                    rest = Substring(Value.redactionMark + rest.dropFirst(length))
                    break
                }
            }
        }
        return out + rest
    }

    /// The event with every text field and detail redacted.
    public func redact(_ event: RunEvent) -> RunEvent {
        guard !secrets.isEmpty else { return event }
        var event = event
        event.command = event.command.map(redact)
        event.stdout = event.stdout.map(redact)
        event.stderr = event.stderr.map(redact)
        event.message = event.message.map(redact)
        event.details = event.details?.mapValues(redact)
        return event
    }

    /// The outcome with its reason, host details and what a person must do redacted.
    public func redact(_ outcome: RunOutcome) -> RunOutcome {
        var outcome = outcome
        outcome.reason = outcome.reason.map(redact)
        outcome.attention = outcome.attention.map(redact)
        outcome.hosts = outcome.hosts.map { HostReport(host: $0.host, state: $0.state, detail: redact($0.detail)) }
        return outcome
    }
}
