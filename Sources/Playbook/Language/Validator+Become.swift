import System

/// `become` that cannot work, refused before any host is touched.
extension Validator {
    /// A step's own `become` on the controller; `doas` with a password (doas reads passwords only
    /// from a terminal); `su` from a login that is not root (su would want the target's password).
    static func becomeDiagnostics(_ validated: ValidatedPlaybook) -> [PlaybookError] {
        var diagnostics: [PlaybookError] = []
        var said = Set<String>()
        func add(_ error: PlaybookError, _ key: String) {
            if said.insert(key).inserted { diagnostics.append(error) }
        }
        for play in validated.plays {
            for step in play.play.allSteps {
                if step.runsOnController, step.become.enabled == true {
                    add(
                        PlaybookError(
                            .conflict("`become` does not apply to a step on the controller: it runs as the controller's own user"),
                            at: step.become.location ?? step.location, keyPath: "\(step.id).become",
                            hint: "drop `become` here, or run the step on a host"), step.id)
                }
                for host in play.hostNames {
                    guard let become = validated.become(for: step, on: host) else { continue }
                    let target = step.delegate?.hostName ?? host
                    let settings = validated.becomeSettings(step.become, play: play.play, on: target)
                    let location = settings.location ?? step.location
                    if become.method == .sudo, let name = become.passwordSecret, let source = validated.inventory.secrets[name],
                        let value = source.value?.revealForUse(), let problem = Escalation.passwordProblem(value)
                    {
                        add(
                            PlaybookError(
                                .invalidValue("\(source.environmentVariable.map { "secret '\(name)' (from \($0))" } ?? "the become password") cannot be a sudo password: \(problem)"),
                                at: source.location, keyPath: "secrets.\(name)", hint: "strip the line break (printf '%s' instead of echo)"),
                            "password-\(name)")
                    }
                    switch become.method {
                    case .doas where become.passwordSecret != nil:
                        add(
                            PlaybookError(
                                .conflict("`become_method: doas` with a become_password for \(target): doas reads passwords only from a terminal"),
                                at: location, keyPath: "\(step.id).become_method",
                                hint: "give the login user a `permit nopass` rule in /etc/doas.conf and drop become_password, or use sudo"),
                            "doas-\(target)")
                    case .su:
                        let login = validated.inventory.host(named: target)?.ssh.user
                        if let login, login != "root" {
                            add(
                                PlaybookError(
                                    .conflict("`become_method: su` from the login '\(login)' on \(target): su from a user other than root asks for the target's password"),
                                    at: location, keyPath: "\(step.id).become_method", hint: "log in as root for su, or use sudo"),
                                "su-\(target)")
                        }
                    default: break
                    }
                }
            }
        }
        return diagnostics
    }
}
