import ArgumentParser
import Foundation
import Playbook

/// Options shared by the commands that read a playbook and an inventory.
struct InputOptions: ParsableArguments {
    @Option(
        name: [.customShort("i"), .long],
        help: "The inventory: golive's file, or Ansible's (INI, YAML or a directory with group_vars/host_vars); repeat -i to merge Ansible inventories.")
    var inventory: [String] = []

    @Option(name: .long, help: "The environment's name, for an inventory that does not name it (Ansible's: else golive_environment).")
    var environment: String?

    @Option(name: .long, help: "Only these hosts or groups (a pattern: web, web*, web:!web3, web:&canary).")
    var limit: String?

    @Option(name: [.customShort("e"), .customLong("var")], help: "Set a variable (key=value); highest precedence.")
    var vars: [String] = []

    @Flag(name: .long, help: "Machine-readable output (JSON).")
    var json = false

    /// `--var` values, parsed.
    func extraVars() throws -> [String: Value] {
        var result: [String: Value] = [:]
        for item in vars {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("--var expects key=value, got '\(item)'")
            }
            result[String(item[..<equals])] = Value.fromCommandLine(String(item[item.index(after: equals)...]))
        }
        return result
    }
}

/// Loading and validating input, with diagnostics printed the same way by every command.
enum InputLoader {
    /// Loads a playbook and (optionally) an inventory and validates them together.
    ///
    /// Prints diagnostics to stderr; throws exit code 2 when any is an error.
    static func load(playbook path: String, options: InputOptions, requireSecrets: Bool) throws -> ValidatedPlaybook? {
        var diagnostics: [PlaybookError] = []
        var playbook: Playbook?
        var inventory: Inventory?
        let parsed = Playbook.parse(file: path)
        playbook = parsed.0
        diagnostics += parsed.1
        if !options.inventory.isEmpty {
            do {
                let loaded = try Inventory.load(sources: options.inventory, requireSecrets: requireSecrets, environmentName: options.environment)
                inventory = loaded.0
                diagnostics += loaded.warnings
            } catch {
                diagnostics += error.diagnostics
            }
        }
        var play: ValidatedPlaybook?
        if let playbook, let inventory {
            do {
                play = try Validator(extraVars: try options.extraVars(), limit: options.limit).validate(playbook, inventory)
                diagnostics += play?.warnings ?? []
            } catch let failure as ValidationFailure {
                diagnostics += failure.diagnostics
            }
        }
        diagnostics.sort { ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column) }
        try report(diagnostics, json: options.json)
        return play
    }

    /// Loads an inventory on its own.
    static func loadInventory(
        _ paths: [String], environment: String? = nil, json: Bool, requireSecrets: Bool, requireEnvironment: Bool = true
    ) throws -> Inventory {
        do {
            let (inventory, warnings) = try Inventory.load(
                sources: paths, requireSecrets: requireSecrets, environmentName: environment, requireEnvironment: requireEnvironment)
            try report(warnings, json: json)
            return inventory
        } catch let failure as ValidationFailure {
            try report(failure.diagnostics, json: json)
            throw ExitStatus.invalidInput.exitCode
        }
    }

    /// Prints diagnostics (stderr, or JSON on stdout) and throws exit 2 if any is an error.
    static func report(_ diagnostics: [PlaybookError], json: Bool) throws {
        if json, !diagnostics.isEmpty {
            let items = diagnostics.map { diagnostic -> [String: String] in
                var item = [
                    "severity": diagnostic.severity.rawValue, "file": diagnostic.location.file,
                    "line": String(diagnostic.location.line), "column": String(diagnostic.location.column),
                    "path": diagnostic.keyPath, "message": diagnostic.kind.message,
                ]
                if let hint = diagnostic.hint { item["hint"] = hint }
                return item
            }
            if let data = try? JSONSerialization.data(withJSONObject: ["diagnostics": items], options: [.sortedKeys]) {
                Terminal.out(data + Data("\n".utf8))
            }
        } else if !diagnostics.isEmpty {
            Terminal.error(DiagnosticRenderer().render(diagnostics))
        }
        if diagnostics.contains(where: { $0.severity == .error }) {
            let count = diagnostics.filter { $0.severity == .error }.count
            if !json { Terminal.error("\(count) error\(count == 1 ? "" : "s"); nothing was touched.") }
            throw ExitStatus.invalidInput.exitCode
        }
    }
}
