/// The shape of what `register:` stores, in one place: validation checks templates against it,
/// and the engine fills it from each step's result.
public enum RegisteredValue {
    /// A registered result with these fields (every field always present).
    public static func make(
        stdout: String = "", stderr: String = "", rc: Int = 0, failed: Bool = false, changed: Bool = true, skipped: Bool = false,
        status: Int = 0, body: String = "", attempts: Int = 1
    ) -> Value {
        .map([
            "stdout": .string(stdout), "stderr": .string(stderr), "rc": .int(rc), "failed": .bool(failed), "changed": .bool(changed),
            "skipped": .bool(skipped), "status": .int(status), "body": .string(body), "attempts": .int(attempts),
        ])
    }
}
