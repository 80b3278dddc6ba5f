import Foundation
import Playbook
import System

/// The team store going away mid-run. While the journal retries it, no append returns, so no
/// step is announced and none starts; the commands already running go on, and their ends wait to
/// be recorded. If the store answers again, the run goes on where it was. If it stays away past
/// the retry time, the journal spills to a local file and the run ends safely — but only if this
/// controller still holds the right to act, which the servers' lock tokens decide, not its memory:
/// a controller whose token is still on the servers rolls back (into the spill); one whose token
/// was replaced (another controller took the run over through the store) touches no server again.
extension Executor {
    /// Listens to the journal's word about its store.
    func watchStore() async {
        await journal.observeOutages { [weak self] outage in await self?.storeOutage(outage) }
    }

    private func storeOutage(_ outage: JournalOutage) {
        switch outage {
        case .unreachable(let reason, let deadline):
            storeUnreachableSince = Date()
            observer?.observe(
                RunEvent(
                    runID: options.runID, kind: .attentionRequired, status: "store-unreachable",
                    message: "the store is unreachable (\(reason)): no new step starts; retrying until \(Timestamp.seconds(deadline))"))
        case .recovered(let seconds):
            storeUnreachableSince = nil
            let text = "the store was unreachable for \(String(format: "%.1f", seconds)) s; no step started meanwhile, and the run goes on"
            // On the record (and so on the console), after the events that waited for the store (not from inside its commit).
            Task { await self.emit(self.event(.attentionRequired, status: "store-recovered", message: text)) }
        case .spilling(let path, let reason):
            spillPath = path
            observer?.observe(
                RunEvent(
                    runID: options.runID, kind: .attentionRequired, status: "store-lost",
                    message: "the store stayed unreachable (\(reason)): the timeline goes on in \(path); the run ends safely"))
            abort(.storeLost, detail: "the store stayed unreachable (\(reason))")
        }
    }

    /// Whether another controller has taken any of this run's servers: a server whose lock no
    /// longer carries this controller's token (replaced by a takeover, or removed). Asked of every
    /// connected server the run locked; one that cannot be asked decides nothing (its commands
    /// still check the token themselves).
    ///
    /// - Returns: the first such server and what it carries, or nil.
    func serverTakenOver() async -> String? {
        guard let token else { return nil }
        let hosts = state.hostOrder.filter { state[$0].lockHeld && connection(to: $0) != nil }
        let answers = await eachHost(hosts) { host -> String? in
            guard let connection = await self.connection(to: host),
                let outcome = try? await connection.run(HostLock.tokenScript(), timeout: .seconds(30), output: nil), outcome.succeeded
            else { return nil }
            let found = outcome.stdoutText.split(separator: "\n").last.map(String.init) ?? ""
            if found == token { return nil }
            return found == "none" ? "\(host)'s lock is gone (released by force, or by the controller that took the run over)"
                : "\(host)'s lock carries another controller's token (generation \(StoreTokens.generation(of: found)))"
        }
        return hosts.compactMap { answers[$0] ?? nil }.first
    }
}
