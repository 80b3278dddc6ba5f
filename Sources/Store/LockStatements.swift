import Engine
import Playbook

/// The lock's statements, the same in both stores.
enum LockStatements {
    static let holder = "SELECT * FROM locks WHERE environment = ?"
    static let refresh = "UPDATE locks SET lease = ? WHERE environment = ? AND token = ?"
    static let release = "DELETE FROM locks WHERE environment = ? AND token = ?"
    static let releaseAny = "DELETE FROM locks WHERE environment = ?"
    static let runFence = "SELECT fence FROM runs WHERE id = ?"

    /// The token `request` is given: of the generation after the run's fence and the holder it
    /// replaces, so the servers' locks can tell this controller from every earlier one of the run.
    static func token(_ request: LockRequest, fence: String?, current: LockHeld?) -> String {
        StoreTokens.next(after: fence, current?.runID == request.runID ? current?.token : nil, request.replacing)
    }

    /// The lock row `request` takes (or takes over), with its new token.
    static func row(_ request: LockRequest, token: String, since: String) -> RowWrite {
        RowWrite(
            .upsert(key: ["environment"]), "locks",
            [
                "environment": .text(request.environment), "run_id": .text(request.runID), "operator": .text(request.operatorName),
                "controller": .text(LockRules.controller), "reason": .text(request.reason), "since": .text(since),
                "lease": .text(since), "token": .text(token), "lease_seconds": .real(request.lease.seconds),
            ])
    }

    /// The run's new fence.
    static func fence(runID: String, _ token: String) -> RowWrite {
        RowWrite(.update(matching: ["id"]), "runs", ["fence": .text(token), "id": .text(runID)])
    }
}
