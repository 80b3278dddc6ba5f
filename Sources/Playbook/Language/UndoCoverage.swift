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
                // An archive backs up the play's own hosts: a delegated write lands elsewhere.
                if step.delegate == nil && covered(transfer.destination, in: play) { return nil }
                return UndoCoverage(step: step, reason: "no `rollback:`, and no archive backup covers its destination")
            default:
                return UndoCoverage(step: step, reason: "no `rollback:`")
            }
        }
    }

    /// A path lies inside (or is) an archived path.
    public static func inside(_ path: String, archived: [String]) -> Bool {
        let target = Validator.normalized(path)
        return archived.contains { base in
            let root = Validator.normalized(base)
            return target == root || target.hasPrefix(root == "/" ? "/" : root + "/")
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
            return inside(target, archived: archives.compactMap { try? $0.render(context, quoting: .plain).text })
        }
    }
}
