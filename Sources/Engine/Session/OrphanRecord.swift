import Foundation

/// Events a controller wrote to its spill journal while the team store was unreachable, that could
/// not be merged into the run's timeline because the run had moved on meanwhile (another
/// controller took it over): kept beside the run, clearly apart, never merged into it.
public struct OrphanRecord: Sendable, Equatable, Codable {
    /// The spill's id.
    public var id: String
    /// The run it belongs beside.
    public var runID: String
    /// The controller that wrote it (`HOST pid PID`).
    public var controller: String
    /// When the spill was begun.
    public var created: Date
    /// When it was replayed into the store, and by whom (`HOST pid PID`).
    public var replayed: Date
    public var replayedBy: String
    /// The events, as the controller wrote them (their sequence numbers are its own, not the run's).
    public var events: [RunEvent]

    /// Creates a record.
    public init(id: String, runID: String, controller: String, created: Date, replayed: Date, replayedBy: String, events: [RunEvent]) {
        self.id = id
        self.runID = runID
        self.controller = controller
        self.created = created
        self.replayed = replayed
        self.replayedBy = replayedBy
        self.events = events
    }
}
