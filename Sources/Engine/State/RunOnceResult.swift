import Playbook

/// The outcome of a `run_once` step on the first host, shared with the others.
public enum RunOnceResult: Sendable, Hashable {
    /// It finished (or failed with `ignore_errors`): its registered result.
    case done(Value)
    /// It failed: the other hosts fail at that step too.
    case failed
}
