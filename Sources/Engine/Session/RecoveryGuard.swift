import Foundation

/// Decides whether a run may be recovered (`resume`, `resume --rollback`, `rollback`) from here
/// and now, before anything is touched: never while its controller may still act.
public enum RecoveryGuard {
    /// What to do.
    public enum Decision: Sendable, Equatable {
        /// Go on, taking the lock over from the holder with this token (nil: the lock is free).
        /// `note` says what `--force` overrode, for the timeline.
        case proceed(replacing: String?, note: String?)
        /// Refuse (exit 3), saying why.
        case refuse(String)
        /// Refuse for now: the holder's lease is fresh and runs out at `until` (a recovery with
        /// `--lock-wait` waits for that, then decides again).
        case refuseUntil(Date, String)
    }

    /// Why the lock `holder` may not be released or taken over now: its run may still act.
    ///
    /// A fresh lease means alive unless the controller is known to be dead (a process of this
    /// machine that is gone); a controller that is a live process on this machine (stopped, say)
    /// is alive whatever its lease says, unless `force`.
    public static func aliveRefusal(_ holder: LockHeld, force: Bool, now: Date = Date()) -> String? {
        let alive = holder.controllerProcess.flatMap { ControllerLiveness.isAlive(host: $0.host, pid: $0.pid) }
        if !holder.isStale(at: now), alive != false {
            return "run \(holder.runID) is alive: its controller (\(holder.controller)) refreshed its lease \(Int(holder.leaseAge(at: now)))s ago "
                + "(lease \(holder.leaseLength.components.seconds)s)"
        }
        if alive == true, !force {
            return "run \(holder.runID) may still act: its controller, \(holder.controller), is still alive (stopped?) though its lease ran out"
        }
        return nil
    }

    /// The decision for run `state` given the environment lock's `holder`.
    ///
    /// A run whose lease is fresh is alive — refused, `--force` or not — unless its controller is
    /// known to be dead (a process of this machine that is gone). A run whose controller is a live
    /// process on this machine (a SIGSTOPped one, whose lease ran out) is refused unless `force`.
    /// A lock held by another run refuses too.
    public static func decide(_ state: RunState, holder: LockHeld?, force: Bool, now: Date = Date()) -> Decision {
        let runID = state.runID
        if let holder, holder.runID != runID {
            return .refuse("\(holder)")
        }
        if state.result != nil && holder == nil { return .proceed(replacing: nil, note: nil) }
        let process = holder?.controllerProcess ?? state.info.flatMap { info in info.controllerPID.map { (info.controller, $0) } }
        let alive = process.flatMap { ControllerLiveness.isAlive(host: $0.host, pid: $0.pid) }
        if let holder, !holder.isStale(at: now), alive != false {
            return .refuseUntil(
                holder.lease.addingTimeInterval(holder.leaseLength.seconds),
                "run \(runID) is still alive: its controller (\(holder.controller)) refreshed its lease \(Int(holder.leaseAge(at: now)))s ago "
                    + "(lease \(holder.leaseLength.components.seconds)s); stop it (Ctrl-C rolls it back), or wait until its lease runs out")
        }
        if let process, alive == true {
            let what = "its controller, pid \(process.pid) on \(process.host), is still alive (stopped?)"
            guard force else {
                return .refuse(
                    "run \(runID) may still act: \(what); end that process, or add --force to take the run over from it "
                        + "(it is then fenced out: its journal appends and its commands on the hosts are refused)")
            }
            return .proceed(replacing: holder?.token, note: "taken over with --force although \(what)")
        }
        return .proceed(replacing: holder?.token, note: nil)
    }
}
