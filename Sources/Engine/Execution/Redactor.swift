import Playbook

/// Turns secret values into `••••` in text shown or stored.
public struct Redactor: Sendable {
    private let secrets: [String]

    /// A redactor for these plain values (short ones are ignored: they would mangle ordinary text).
    public init(secrets: [String]) {
        self.secrets = Array(Set(secrets.filter { $0.count >= 3 })).sorted { $0.count > $1.count }
    }

    /// The text with every secret replaced.
    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Value.redactionMark)
        }
        return result
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
}
