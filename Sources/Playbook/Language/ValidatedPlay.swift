import Foundation

/// One play checked against an inventory: the hosts it targets and each host's variables.
public struct ValidatedPlay: Sendable {
    /// The play.
    public var play: Play
    /// Target hosts in inventory order (after `hosts:` and `--limit`).
    public var hosts: [InventoryHost]
    /// Each host's variables (inventory all < groups < host < playbook < play < `--var`), plus `host`.
    public var variables: [String: [String: Value]]
    /// `play`: the play's `hosts` (entries as in ``Fleet``), its `id` and `name`.
    public var scope: Value = .map([:])
    /// `batch` of each host: the `hosts` of its batch and its `number` within the play.
    public var batches: [String: Value] = [:]
    /// `groups` and `hosts` (shared with every play: see ``Fleet``).
    var fleet: (groups: Value, hosts: Value) = (.map([:]), .map([:]))

    /// A host's variables and the run's details (without other plays' results: see
    /// ``ValidatedPlaybook/context(for:play:run:registered:results:)``).
    public func context(for host: String, run: [String: Value]) -> TemplateContext {
        var variables = self.variables[host] ?? [:]
        variables["run"] = .map(run)
        variables["groups"] = fleet.groups
        variables["hosts"] = fleet.hosts
        variables["play"] = scope
        variables["batch"] = batches[host] ?? .map(["hosts": .list([]), "number": .int(0)])
        return TemplateContext(variables: variables)
    }

    /// The play's host names, in inventory order.
    public var hostNames: [String] { hosts.map(\.name) }
}
