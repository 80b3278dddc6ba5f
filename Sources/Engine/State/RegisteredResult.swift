import Playbook

/// What `register:` stores, built from a step's `stepFinished` event: the live run and a recovery
/// build it the same way, from the same event.
public enum RegisteredResult {
    /// The result of a step skipped by its `when:`.
    public static let skipped: Value = .map([
        "stdout": .string(""), "stderr": .string(""), "rc": .int(0), "failed": .bool(false), "changed": .bool(false),
        "skipped": .bool(true), "status": .int(0), "body": .string(""), "attempts": .int(0),
    ])

    /// The result an attempt's `stepFinished` event records.
    public static func value(of event: RunEvent) -> Value {
        let details = event.stepDetails
        return value(
            stdout: event.stdout ?? "", stderr: event.stderr ?? "", exitCode: event.exitCode,
            failed: details.failed ?? (event.status != StepStatus.ok.rawValue), httpStatus: details.httpStatus,
            attempts: event.attempt ?? 1)
    }

    /// The result of an attempt.
    public static func value(stdout: String, stderr: String, exitCode: Int?, failed: Bool, httpStatus: Int?, attempts: Int)
        -> Value
    {
        func trimmed(_ text: String) -> String {
            var text = text
            while text.hasSuffix("\n") { text.removeLast() }
            return text
        }
        return .map([
            "stdout": .string(trimmed(stdout)), "stderr": .string(trimmed(stderr)), "rc": .int(exitCode ?? -1),
            "failed": .bool(failed), "changed": .bool(true), "skipped": .bool(false), "status": .int(httpStatus ?? 0),
            "body": .string(httpStatus != nil ? stdout : ""), "attempts": .int(attempts),
        ])
    }
}
