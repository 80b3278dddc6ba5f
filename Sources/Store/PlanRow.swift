import Engine
import Foundation

/// A resolved plan as both stores keep it: its entries as JSON under its fingerprint.
struct PlanRow {
    var fingerprint: String
    var playbookFile: String
    var entries: String

    init(_ plan: ResolvedPlan, playbookFile: String) throws {
        fingerprint = plan.fingerprint
        self.playbookFile = URL(fileURLWithPath: playbookFile).standardizedFileURL.path
        entries = String(decoding: try JSONEncoder().encode(plan.entries), as: UTF8.self)
    }

    /// The write (the first record under a fingerprint wins).
    func write(environment: String) -> RowWrite {
        RowWrite(
            .insertIgnoring, "plans",
            [
                "fingerprint": .text(fingerprint), "created": .text(StoreTime.format(Date())), "playbook_file": .text(playbookFile),
                "environment": .text(environment), "entries": .text(entries),
            ])
    }

    static let query = "SELECT entries FROM plans WHERE fingerprint = ?"

    static func decode(_ entries: String) throws -> ResolvedPlan {
        ResolvedPlan(entries: try JSONDecoder().decode([ResolvedPlan.Entry].self, from: Data(entries.utf8)))
    }
}
