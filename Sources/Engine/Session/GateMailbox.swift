import Foundation
import Synchronization

/// Where answers to a run's waiting gates are left, by its operator's terminal and by
/// `golive answer` from anywhere that reaches the store; the run's controller reads them.
public protocol GateMailbox: Sendable {
    /// Leaves `answer`, and returns it as the store recorded it: its number, and the identity the
    /// store stands behind (the team store records its login whatever the answer says).
    ///
    /// - Throws: when the store cannot be written, or this login may not answer gates.
    func post(_ answer: GateAnswer) async throws -> GateAnswer
    /// The answers left for the gate asked as event `gate` of run `runID`, first first.
    ///
    /// - Throws: when the store cannot be read.
    func answers(runID: String, gate: Int64) async throws -> [GateAnswer]
}

/// Answers kept in memory (engine tests).
public final class MemoryGateMailbox: GateMailbox {
    private let kept = Mutex<[GateAnswer]>([])

    /// An empty mailbox.
    public init() {}

    public func post(_ answer: GateAnswer) async throws -> GateAnswer {
        kept.withLock { kept in
            var answer = answer
            answer.id = Int64(kept.count + 1)
            kept.append(answer)
            return answer
        }
    }

    public func answers(runID: String, gate: Int64) async throws -> [GateAnswer] {
        kept.withLock { $0.filter { $0.runID == runID && $0.gate == gate } }
    }
}
