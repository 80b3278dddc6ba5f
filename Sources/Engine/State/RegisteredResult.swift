import Playbook

/// What `register:` stores, built from a step's `stepFinished` event: the live run and a recovery
/// build it the same way, from the same event.
public enum RegisteredResult {
    /// The result of a step skipped by its `when:`.
    public static let skipped: Value = RegisteredValue.make(changed: false, skipped: true, attempts: 0)

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
        return RegisteredValue.make(
            stdout: trimmed(stdout), stderr: trimmed(stderr), rc: exitCode ?? -1, failed: failed, status: httpStatus ?? 0,
            body: httpStatus != nil ? stdout : "", attempts: attempts)
    }
}
