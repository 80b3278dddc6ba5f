import ArgumentParser
import Foundation
import Playbook

/// `golive validate PLAYBOOK [-i INVENTORY]`: parse and check everything, touch nothing.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Parse and check a playbook (and inventory); touch nothing.")

    @Argument(help: "The playbook file.") var playbook: String
    @OptionGroup var input: InputOptions

    func run() async throws {
        let play = try InputLoader.load(playbook: playbook, options: input, requireSecrets: false)
        if input.json {
            var summary: [String: Any] = ["valid": true, "playbook": playbook]
            if let play {
                summary["hosts"] = play.hosts.map(\.name)
                summary["environment"] = play.inventory.environment
                if play.playbook.hasPlayList { summary["plays"] = play.plays.map { ["id": $0.play.id ?? "", "hosts": $0.hostNames] } }
                if !play.delegates.isEmpty { summary["delegates"] = play.delegates.map(\.name) }
            }
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if let play {
            let steps = play.playbook.allSteps.count
            let plays = play.playbook.hasPlayList ? " in \(play.plays.count) plays (\(play.plays.compactMap(\.play.id).joined(separator: ", ")))" : ""
            print(
                "ok: \(playbook): '\(play.playbook.name)', \(steps) step\(steps == 1 ? "" : "s")\(plays) on \(play.hosts.count) host\(play.hosts.count == 1 ? "" : "s") of \(play.inventory.environment)")
        } else {
            let (loaded, _) = try Playbook.load(file: playbook)
            print("ok: \(playbook): '\(loaded.name)', \(loaded.allSteps.count) steps (no inventory given: host patterns and templates not checked)")
        }
    }
}
