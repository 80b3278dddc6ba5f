/// Where a host stands in a run: derived by ``RunState`` from its events, shown by every report.
public enum HostState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Nothing has happened to it yet.
    case pending
    /// Connected or checked, never changed.
    case unchanged
    /// At least one backup or deploy step was started on it (started counts as done for rollback).
    case changed
    /// Its connection was lost while it was being changed.
    case unreachable
    /// Every started step was undone and it was confirmed healthy.
    case rolledBack = "rolled-back"
    /// Its rollback did not complete: a person must act.
    case needsAttention = "needs-attention"
}
