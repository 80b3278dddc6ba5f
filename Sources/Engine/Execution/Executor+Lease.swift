import Foundation
import Playbook

/// The environment lock in the store: taken (or taken over by a recovery) before the run writes
/// anything, its lease refreshed while the run lives.
extension Executor {
    /// Takes the environment lock (waiting up to `--lock-wait`), or takes it over from the holder
    /// whose token is `replacing` (a recovery), and starts refreshing its lease.
    ///
    /// - Returns: the lease task, or the refusal.
    func takeEnvironmentLock(reason: String, replacing: String? = nil, announce: Bool = true) async
        -> Result<Task<Void, Never>?, RefusalMessage>
    {
        guard let lock else {
            // No store lock (an in-memory run): the hosts' locks still keep other controllers off,
            // with a token of this run's own.
            token = token ?? StoreTokens.next()
            return .success(nil)
        }
        let deadline = ContinuousClock.now.advanced(by: options.lockWait ?? .zero)
        let request = LockRequest(
            environment: environment, runID: options.runID, operatorName: options.operatorName, reason: reason,
            lease: options.lease, replacing: replacing)
        var announced = false
        while true {
            do {
                let token = try await lock.acquire(request)
                self.token = token
                await journal.adopt(fence: token)
                if announce { await emit(event(.lockTaken, message: "environment \(environment) locked by \(options.operatorName)")) }
                break
            } catch let held as LockHeld where ContinuousClock.now < deadline && abortReason == nil && replacing == nil {
                if !announced {
                    announced = true
                    await emit(event(.lockTaken, status: "waiting", message: "waiting for the lock: \(held)"))
                }
                try? await Task.sleep(for: .seconds(1))
            } catch {
                return .failure(RefusalMessage("\(error)"))
            }
        }
        // The lease shows the lock's holder is alive; a lock whose lease stops moving is shown as
        // stale. A refresh that finds the lock no longer ours fences this controller.
        let (environment, interval) = (environment, options.lease / 4)
        guard let token else { return .success(nil) }
        return .success(
            Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    if (try? await lock.refresh(environment: environment, token: token)) == false {
                        await self?.abort(.fenced, detail: "the environment lock was taken over or released by force")
                        break
                    }
                }
            })
    }

    /// Asks the store whether this controller still holds the environment lock (refreshing its
    /// lease); fences the run when it does not.
    func stillHoldsLock() async -> Bool {
        if fenced { return false }
        guard let lock, let token else { return true }
        guard (try? await lock.refresh(environment: environment, token: token)) == false else { return true }
        abort(.fenced, detail: "the environment lock was taken over or released by force")
        return false
    }
}
