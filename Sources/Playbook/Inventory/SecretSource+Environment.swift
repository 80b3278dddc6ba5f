extension SecretSource {
    /// A secret read from an environment variable, with the problems of its value: unset (an
    /// error when the command needs secrets, else a warning) or too short to be redacted.
    static func fromEnvironment(
        name: String, variable: String, environment: [String: String], requireSecrets: Bool, at location: SourceLocation,
        keyPath: String
    ) -> (SecretSource, [PlaybookError]) {
        var problems: [PlaybookError] = []
        let plain = environment[variable]
        if let plain, plain.count < Secret.minimumLength {
            // Redaction finds a secret by its text: a short one would be found in ordinary text
            // (and be missed where it should not), so it is refused, loudly.
            problems.append(
                PlaybookError(
                    .invalidValue(
                        "secret '\(name)' (from \(variable)) is \(plain.count) character\(plain.count == 1 ? "" : "s") long; secrets must have at least \(Secret.minimumLength), so that they can be redacted everywhere"),
                    at: location, keyPath: keyPath, hint: "use a longer value; a value that short is no secret"))
        }
        if plain == nil {
            let kind = PlaybookError.Kind.missingSecret(name: name, variable: variable)
            problems.append(
                requireSecrets
                    ? PlaybookError(kind, at: location, keyPath: keyPath, hint: "export \(variable) before running")
                    : PlaybookError(kind, at: location, keyPath: keyPath, hint: "`run` will refuse to start without it", severity: .warning))
        }
        return (SecretSource(environmentVariable: variable, value: plain.map(Secret.init), location: location), problems)
    }
}
