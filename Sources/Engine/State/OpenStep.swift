import Foundation

/// A step attempt that was started and has not been confirmed finished yet.
public struct OpenStep: Sendable, Hashable {
    /// The step's id.
    public var id: String
    /// Its display name.
    public var name: String?
    /// Its phase.
    public var phase: RunEvent.Phase?
    /// Its batch.
    public var batch: Int?
    /// The attempt.
    public var attempt: Int
    /// The `stepStarted` event's sequence number.
    public var sequence: Int64?
    /// When it started.
    public var time: Date
    /// The inventory host it runs on when delegated (its process group is recorded there).
    public var delegateTo: String? = nil
}
