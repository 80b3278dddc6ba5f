import Foundation

/// An answer to a waiting gate, as the store keeps it: given at the operator's terminal or with
/// `golive answer` from any terminal that reaches the run's store. The run's controller takes the
/// first that counts (an approver's, when the gate names approvers) and records it on the
/// timeline; the others are recorded there as refused or too late.
public struct GateAnswer: Sendable, Codable, Hashable {
    /// The store's number for it (answers are taken in this order); 0 before it is posted.
    public var id: Int64
    public var runID: String
    /// The sequence number of the `gateAsked` event it answers.
    public var gate: Int64
    /// Yes (go on) or no (roll back).
    public var yes: Bool
    /// Who answered: the team store's login (`session_user`), or the OS user of a local store, or
    /// a name given with `--as` on a local store (then not verified).
    public var identity: String
    /// Whether golive can stand behind ``identity`` (false for an `--as` claim).
    public var verified: Bool
    /// The machine it was given on.
    public var machine: String
    /// Why, as the person answering said it.
    public var reason: String
    public var time: Date

    /// Creates an answer (its ``id`` is the store's to give).
    public init(
        id: Int64 = 0, runID: String, gate: Int64, yes: Bool, identity: String, verified: Bool, machine: String, reason: String,
        time: Date = Date()
    ) {
        self.id = id
        self.runID = runID
        self.gate = gate
        self.yes = yes
        self.identity = identity
        self.verified = verified
        self.machine = machine
        self.reason = reason
        self.time = time
    }

    /// "ana on desk-3" or "ana (claimed, not verified) on desk-3".
    public var who: String { identity + (verified ? "" : " (claimed, not verified)") + " on \(machine)" }
}
