import ArgumentParser
import Console
import Engine
import Foundation
import Playbook

/// `golive notify test`: a test notification to every target, each result reported.
struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: "Try the notification targets of an inventory (and a playbook).",
        subcommands: [NotifyTestCommand.self])
}

/// `golive notify test -i INVENTORY [PLAYBOOK]`: sends the `test` event to every target.
struct NotifyTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Send a test notification to every target of the inventory (and the playbook), and say how each went.")

    @Argument(help: "A playbook whose own `notify:` targets are tried too.") var playbook: String?
    @Option(name: [.customShort("i"), .long], help: "The inventory.") var inventory: [String]
    @Option(name: .long, help: "The environment's name, for an Ansible inventory that does not name it.") var environment: String?

    func run() async throws {
        let targets: [NotifyTarget]
        let secrets: [String: SecretSource]
        let directory: String
        let environmentName: String
        if let playbook {
            var input = try InputOptions.parse([])
            input.inventory = inventory
            input.environment = environment
            guard let play = try InputLoader.load(playbook: playbook, options: input, requireSecrets: true) else {
                throw ExitStatus.invalidInput.exitCode
            }
            (targets, secrets, environmentName) = (play.notifyTargets, play.inventory.secrets, play.inventory.environment)
            directory = URL(fileURLWithPath: playbook).deletingLastPathComponent().path
        } else {
            let loaded = try InputLoader.loadInventory(inventory, environment: environment, json: false, requireSecrets: true)
            (targets, secrets, environmentName) = (loaded.notify, loaded.secrets, loaded.environment)
            directory = FileManager.default.currentDirectoryPath
        }
        guard !targets.isEmpty else {
            print("no notification targets (add `notify:` to the inventory or the playbook)")
            return
        }
        let reachable = Notifier.reachable(targets, secrets: secrets, directory: directory)
        let results = Results()
        let notifier = Notifier(targets: reachable) { delivery in results.add(delivery) }
        notifier.send(
            Notification(
                event: .test, runID: "test", kind: "test", environment: environmentName, operatorName: StoreLocation.operatorName,
                playbook: playbook ?? "", time: Date(), message: "a test notification from golive notify test",
                nextAction: "nothing: this is a test"))
        let longest = targets.map { $0.timeout * ($0.retries + 1) + .seconds(1 << min($0.retries, 6)) }.max() ?? .seconds(10)
        _ = await notifier.finish(within: longest)
        let redactor = Redactor(secrets: secrets.values.compactMap { $0.value?.revealForUse() })
        var failed = 0
        for target in targets {
            let line: String
            if !reachable.contains(where: { $0.target.name == target.name }) {
                line = "✗ \(target.kind.rawValue) \(target.name)\(Self.shown(target)): a secret it needs is not set"
                failed += 1
            } else if let delivery = results.all.first(where: { $0.target == target.name }) {
                if !delivery.delivered { failed += 1 }
                line = (delivery.delivered ? "✓ " : "✗ ")
                    + "\(target.kind.rawValue) \(target.name)\(Self.shown(target)): "
                    + (delivery.delivered ? "delivered in \(delivery.milliseconds) ms (\(delivery.detail))" : "not delivered after \(delivery.attempts) attempt(s): \(delivery.detail)")
            } else {
                line = "✗ \(target.kind.rawValue) \(target.name)\(Self.shown(target)): no answer in time"
                failed += 1
            }
            print(TerminalText.visible(redactor.redact(line)))
        }
        if failed > 0 { throw ExitStatus.refused.exitCode }
    }

    /// " (ADDRESS)", or the secret's " (secret NAME)" as it is.
    static func shown(_ target: NotifyTarget) -> String {
        let address = target.shownAddress
        return address.hasPrefix("(") ? " \(address)" : " (\(address))"
    }

    /// The deliveries reported, as they come.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var deliveries: [Notifier.Delivery] = []
        func add(_ delivery: Notifier.Delivery) { lock.withLock { deliveries.append(delivery) } }
        var all: [Notifier.Delivery] { lock.withLock { deliveries } }
    }
}
