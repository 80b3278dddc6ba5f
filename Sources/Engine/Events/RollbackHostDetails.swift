import Foundation

/// What `rollbackHostFinished` records: which play's steps the rollback undid on the host (a host
/// in several plays is rolled back once per play, the last play first), and the started steps that
/// nothing undid (no `rollback:`, no archive), so that "rolled back" never claims more than was done.
public struct RollbackHostDetails: Codable, Sendable, Hashable {
    /// The play's id (nil: every play's steps, as in a single-play run).
    public var play: String?
    /// The names of the started steps nothing undid, as a JSON list.
    public var notUndone: String?

    enum CodingKeys: String, CodingKey {
        case play, notUndone = "not_undone"
    }

    /// Creates the details.
    public init(play: String?, notUndone: [String]) {
        self.play = play
        self.notUndone = notUndone.isEmpty ? nil : String(data: (try? JSONEncoder().encode(notUndone)) ?? Data(), encoding: .utf8)
    }

    /// The steps nothing undid.
    public var notUndoneList: [String] {
        guard let notUndone, let list = try? JSONDecoder().decode([String].self, from: Data(notUndone.utf8)) else { return [] }
        return list
    }

    /// The step id belongs to this play (every step, when `play` is nil).
    public func covers(_ stepID: String) -> Bool {
        guard let play else { return true }
        return stepID.hasPrefix(play + ".")
    }
}
