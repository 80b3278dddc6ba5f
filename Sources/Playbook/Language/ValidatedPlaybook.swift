import Foundation

/// A playbook checked against an inventory: each play's hosts and variables, with every template
/// known to resolve, and the hosts steps are delegated to.
public struct ValidatedPlaybook: Sendable {
    /// The playbook.
    public var playbook: Playbook
    /// The inventory.
    public var inventory: Inventory
    /// The plays, in order.
    public var plays: [ValidatedPlay]
    /// Every play's target hosts, in inventory order.
    public var hosts: [InventoryHost]
    /// Who is told of the run: the inventory's notification targets, then the playbook's.
    public var notifyTargets: [NotifyTarget] = []
    /// Hosts that only run delegated steps (`delegate_to:`), in inventory order: connected and
    /// locked with the others, never rolled back themselves (their steps are their hosts').
    public var delegates: [InventoryHost]
    /// Warnings found on the way.
    public var warnings: [PlaybookError]

    /// Every host the run connects to: the targets, then the delegates.
    public var connectedHosts: [InventoryHost] { hosts + delegates }

    /// The play a step belongs to.
    /// The privilege `step` runs with for `host` (nil: as the login user): the step's `become*`,
    /// then its play's, the playbook's, and the inventory's for the host it runs on (the host it is
    /// delegated to, for a delegated step). A step on the controller never escalates.
    /// Probes that only talk to the network (`http`, `tcp`) and gates run nothing to escalate.
    public func become(for step: Step, on host: String) -> Become? {
        if step.runsOnController { return nil }
        switch step.action {
        case .http, .tcp, .gate, .local: return nil
        default: break
        }
        return becomeSettings(step.become, play: play(of: step).play, on: step.delegate?.hostName ?? host).become
    }

    /// The privilege a play's health probes (log and metric) run with on `host`.
    public func become(forProbesOf play: Play, on host: String) -> Become? {
        becomeSettings(BecomeSettings(), play: play, on: host).become
    }

    /// `nearest`'s `become*` with what it leaves unset from the play's, the playbook's and the
    /// inventory's for `host` (the host the command runs on).
    public func becomeSettings(_ nearest: BecomeSettings, play: Play, on host: String) -> BecomeSettings {
        nearest.filled(from: play.become).filled(from: playbook.become).filled(from: inventory.host(named: host)?.ssh.become ?? BecomeSettings())
    }

    public func play(of step: Step) -> ValidatedPlay { plays[min(step.play, plays.count - 1)] }

    /// The template context of a host in a play: its variables, the run's details, its registered
    /// results, and (`plays.ID.HOST.NAME`) what the hosts of earlier plays registered — read through
    /// `results(host)` in a run, their shapes at validate time (`results` nil).
    public func context(
        for host: String, play index: Int, run: [String: Value], registered: [String: Value] = [:],
        results: ((String) -> [String: Value])? = nil
    ) -> TemplateContext {
        let play = plays[min(index, plays.count - 1)]
        var context = play.context(for: host, run: run)
        if play.variables[host] == nil, let other = plays.lazy.compactMap({ $0.variables[host] }).first {
            context.variables.merge(other) { current, _ in current }
        }
        for (name, value) in registered { context.variables[name] = value }
        if playbook.hasPlayList { context.variables["plays"] = earlierResults(before: index, results: results) }
        return context
    }

    /// `plays`: by play id, by host, each registered result of the plays before `index`.
    func earlierResults(before index: Int, results: ((String) -> [String: Value])?) -> Value {
        var byPlay: [String: Value] = [:]
        for play in plays.prefix(index) {
            guard let id = play.play.id else { continue }
            let names = (play.play.prechecks + play.play.backup + play.play.deploy).compactMap(\.register)
            var byHost: [String: Value] = [:]
            for host in play.hostNames {
                let recorded = results?(host)
                var values: [String: Value] = [:]
                for name in names {
                    if let recorded {
                        if let value = recorded[name] { values[name] = value }
                    } else {
                        values[name] = Validator.registeredShape
                    }
                }
                byHost[host] = .map(values)
            }
            byPlay[id] = .map(byHost)
        }
        return .map(byPlay)
    }
}
