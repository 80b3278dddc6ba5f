import Foundation

/// What a journal tells its run about its store going away and coming back (``Journal/observeOutages(_:)``).
public enum JournalOutage: Sendable, Equatable {
    /// A commit failed because the store cannot be reached; the journal retries it until
    /// `deadline`, and appends wait meanwhile (no step announced, so none starts).
    case unreachable(reason: String, deadline: Date)
    /// The store answered again after `seconds`: the waiting appends are committed, in order.
    case recovered(seconds: Double)
    /// The store stayed away past the deadline: this and every later event of the run go to the
    /// spill journal at `path` (replayed into the store later), and the run must end safely.
    case spilling(path: String, reason: String)
}

extension Journal {
    /// A journal whose store cannot go away tells nothing.
    public func observeOutages(_ handler: @escaping @Sendable (JournalOutage) async -> Void) async {}
}
