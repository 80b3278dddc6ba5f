import Foundation

/// A deploy step that can change a host and that nothing undoes: no `rollback:`, no `archive`
/// backup of its play covering the path it writes, and no `rollback: none` or `rollback: backup`
/// saying so on purpose.
/// Warned about at validate, listed by the plan document, named per host by the report.
public struct UndoCoverage: Sendable, Hashable {
    /// The step.
    public var step: Step
    /// Why nothing undoes it.
    public var reason: String

    /// The validate warning.
    public var warning: PlaybookError {
        PlaybookError(
            .conflict("deploy step '\(step.name)' changes the host and nothing undoes it (\(reason))"), at: step.location,
            keyPath: step.id,
            hint: "give it a `rollback:`, `rollback: backup` when an `archive` step of the play backs up what it changes, or `rollback: none` if there is nothing to undo",
            severity: .warning)
    }

    /// The deploy steps of a play that nothing undoes, in order. A `template` or `upload` is covered
    /// when, on every host, its destination lies inside a path an `archive` backup of the play
    /// restores.
    public static func uncovered(in play: ValidatedPlay) -> [UndoCoverage] {
        play.play.deploy.compactMap { step in
            guard step.changesSomething, !step.declaresUndo else { return nil }
            if case .gate = step.action { return nil }
            switch step.action {
            case .upload(let transfer), .template(let transfer):
                if covered(transfer.destination, in: play) { return nil }
                return UndoCoverage(step: step, reason: "no `rollback:`, and no archive backup covers its destination")
            default:
                return UndoCoverage(step: step, reason: "no `rollback:`")
            }
        }
    }

    /// `destination` lies inside an archived path on every host of the play.
    static func covered(_ destination: Template, in play: ValidatedPlay) -> Bool {
        let archives = play.play.backup.compactMap { step -> Template? in
            if case .archive(let archive) = step.action { return archive.path }
            return nil
        }
        guard !archives.isEmpty, !play.hosts.isEmpty else { return false }
        return play.hosts.allSatisfy { host in
            let context = play.context(for: host.name, run: Validator.placeholderRun)
            guard let target = try? destination.render(context, quoting: .plain).text else { return false }
            let path = Validator.normalized(target)
            return archives.contains { archive in
                guard let base = try? archive.render(context, quoting: .plain).text else { return false }
                let root = Validator.normalized(base)
                return path == root || path.hasPrefix(root == "/" ? "/" : root + "/")
            }
        }
    }
}
