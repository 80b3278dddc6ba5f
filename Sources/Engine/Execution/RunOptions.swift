import Foundation
import Playbook

/// What kind of run, and how it behaves.
public struct RunOptions: Sendable {
    /// The kind of run.
    public enum Kind: String, Sendable, Codable {
        /// The real go-live: window enforced, rollback automatic.
        case run
        /// A rehearsal: window recorded, not enforced.
        case rehearse
        /// Connect and run the pre-checks only.
        case check
        /// Roll back a finished run on purpose, or a run whose controller died.
        case rollback
    }

    /// The kind.
    public var kind: Kind
    /// The run's identifier.
    public var runID: String
    /// Who runs it (recorded).
    public var operatorName: String
    /// Hosts worked on at once.
    public var forks: Int = 200
    /// Answer every gate yes (recorded as such).
    public var assumeYes = false
    /// Whether golive stands behind ``operatorName`` as the operator's identity (the OS user, not
    /// a name given in `GOLIVE_OPERATOR`): a gate answered at the run's terminal is recorded so.
    public var operatorVerified = true
    /// The pause before a notification's first retry (doubled for each next one).
    public var notificationRetryDelay: Duration = .seconds(1)
    /// The controller's machine, as gate answers given at its terminal record it.
    public var machine = ProcessInfo.processInfo.hostName
    /// Stop and report instead of rolling back.
    public var noRollback = false
    /// Run outside the window, for this recorded reason.
    public var ignoreWindowReason: String?
    /// Wait for the window to open instead of refusing.
    public var waitForWindow = false
    /// Rehearsals: roll back deliberately after success, so the rollback is timed too.
    public var rollbackAfter = false
    /// Directory that `upload`/`template` sources are relative to.
    public var playbookDirectory: String
    /// Attempts for each rollback action.
    public var rollbackAttempts = 3
    /// How long an unreachable host is retried during rollback before a person is asked to act.
    public var reconnectDeadline: Duration = .seconds(60)
    /// Extra `runStarted` details (the command line's --var and --limit, so `resume` can rebuild the play).
    public var recorded: [String: String] = [:]
    /// The name the store authenticated this controller as (PostgreSQL's `session_user`), which
    /// gate answers record; nil for a store that authenticates nobody.
    public var storeIdentity: String?
    /// Wait this long for a held environment lock instead of refusing at once.
    public var lockWait: Duration?
    /// The environment lock's lease: refreshed every quarter of it while the run goes on; a lock
    /// not refreshed for this long is stale (a recovery may take it over).
    public var lease: Duration = .seconds(60)
    /// How long the run (and its rollback) should take, from the last rehearsal.
    public var prediction: Prediction?
    /// Default bound on one step attempt.
    public var defaultStepTimeout: Duration = .seconds(3600)
    /// The login users' password for sudo when no `become_password` secret names one
    /// (`--ask-become-pass`). Never recorded.
    public var becomePassword: String?
    /// How long sudo (su, doas) may take to ask for the password or start the command.
    public var becomeTimeout: Duration = .seconds(20)

    /// Who answers a gate, as the record names them: the store's login when there is one, with
    /// the operator's own name when that differs.
    public var answeringIdentity: String {
        guard let storeIdentity else { return operatorName }
        return storeIdentity == operatorName ? storeIdentity : "\(storeIdentity) (operator \(operatorName))"
    }

    /// Creates options.
    public init(kind: Kind, runID: String, operatorName: String, playbookDirectory: String) {
        self.kind = kind
        self.runID = runID
        self.operatorName = operatorName
        self.playbookDirectory = playbookDirectory
    }
}
