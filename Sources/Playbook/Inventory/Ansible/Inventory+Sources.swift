import Foundation
import Yams

extension Inventory {
    /// Reads and checks an inventory from one or more sources: golive's own YAML file, or Ansible
    /// inventories (INI or YAML files, directories of them with `group_vars/` and `host_vars/`),
    /// told apart by their content. Several Ansible sources are merged in the order given.
    ///
    /// - Parameters:
    ///   - sources: files or directories, as given with `-i`.
    ///   - environment: where secrets are read from (default: this process's environment).
    ///   - requireSecrets: a missing secret is an error (for commands that connect) rather than a warning.
    ///   - environmentName: `--environment`: names an inventory that does not name itself.
    ///   - requireEnvironment: an Ansible inventory that names no environment is an error (else its
    ///     environment is empty: for commands that only show the inventory).
    /// - Returns: the inventory and any warnings.
    /// - Throws: ``ValidationFailure`` with every problem found, when any is an error.
    public static func load(
        sources: [String], environment: [String: String] = ProcessInfo.processInfo.environment, requireSecrets: Bool = false,
        environmentName: String? = nil, requireEnvironment: Bool = true
    ) throws(ValidationFailure) -> (Inventory, warnings: [PlaybookError]) {
        guard let first = sources.first else {
            throw ValidationFailure([PlaybookError(.missingKey("inventory"), at: .commandLine("inventory"), keyPath: "")])
        }
        let formats = sources.map(format(of:))
        if sources.count == 1, formats == [.unreadable] {
            return try loadGolive(file: first, environment: environment, requireSecrets: requireSecrets, environmentName: environmentName)
        }
        if formats.contains(.golive) {
            guard sources.count == 1 else {
                let golive = sources[formats.firstIndex(of: .golive) ?? 0]
                throw ValidationFailure([
                    PlaybookError(
                        .conflict("\(golive) is a golive inventory: it is read on its own, not merged with other sources"),
                        at: SourceLocation(file: golive, line: 1, column: 1), keyPath: "",
                        hint: "give one golive inventory, or only Ansible inventories")
                ])
            }
            return try loadGolive(file: first, environment: environment, requireSecrets: requireSecrets, environmentName: environmentName)
        }
        var inventory = AnsibleInventory()
        var diagnostics: [PlaybookError] = []
        for source in sources { read(ansible: source, into: &inventory, diagnostics: &diagnostics, depth: 0) }
        inventory.reconcile()
        let resolver = AnsibleResolver(
            inventory: inventory, sources: sources, varsFiles: AnsibleVarsFiles(), environment: environment,
            requireSecrets: requireSecrets, environmentName: environmentName, requireEnvironment: requireEnvironment)
        let (resolved, problems) = resolver.resolve()
        diagnostics += problems
        diagnostics.sort { ($0.location.file, $0.location.line, $0.location.column) < ($1.location.file, $1.location.line, $1.location.column) }
        if diagnostics.contains(where: { $0.severity == .error }) { throw ValidationFailure(diagnostics) }
        guard let resolved else { throw ValidationFailure(diagnostics) }
        return (resolved, diagnostics)
    }

    /// How a source is written, by its content: a directory is an Ansible inventory directory; a
    /// file whose first line is a `[section]`, or that is not a YAML map, is INI; a YAML map with
    /// golive's keys (`environment:`, `defaults:`, `groups:`, `secrets:`) is golive's, any other Ansible's.
    static func format(of source: String) -> SourceFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else { return .unreadable }
        if isDirectory.boolValue { return .ansibleDirectory }
        guard let data = FileManager.default.contents(atPath: source) else { return .unreadable }
        guard data.count <= YAMLReader.maxFileSize, case .success(let text) = SourceText.decode(data, file: source) else { return .golive }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let significant = lines.first { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix(";") }
        guard let significant else { return .ansibleINI }
        if significant.hasPrefix("[") && !significant.hasPrefix("[{") { return .ansibleINI }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            // Broken YAML is still YAML when it reads as keys (`all:`, `environment: x`): its own
            // error is the one to report, not the INI reader's about every line.
            let goliveKeys = lines.contains { line in ["environment:", "defaults:", "groups:", "secrets:"].contains { line.hasPrefix($0) } }
            if goliveKeys { return .golive }
            if significant.hasPrefix("---") || significant.hasPrefix("%YAML") { return .ansibleYAML }
            let key = significant.firstIndex(of: ":").map { significant[..<$0] }
            if let key, !key.isEmpty, !key.contains("="), !key.contains(" "),
                significant.hasSuffix(":") || significant.contains(": ")
            {
                return .ansibleYAML
            }
            return .ansibleINI
        }
        guard let node, case .mapping(let mapping) = node else { return .ansibleINI }
        let keys = Set(mapping.keys.compactMap { if case .scalar(let scalar) = $0 { scalar.string } else { nil } })
        if !keys.isDisjoint(with: ["environment", "defaults", "groups", "secrets"]) { return .golive }
        if keys.isSubset(of: InventoryParser.topKeys) && !keys.isEmpty && !keys.contains("all") { return .golive }
        return .ansibleYAML
    }

    /// What ``format(of:)`` finds.
    enum SourceFormat: Equatable {
        case golive, ansibleINI, ansibleYAML, ansibleDirectory
        /// Not there, or not readable (read as golive's, whose reader says so, when given alone).
        case unreadable
    }

    /// Files an Ansible inventory directory skips (as Ansible's `inventory_ignore_extensions`).
    static let ignoredExtensions = [".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry", ".ini~"]

    private static func read(ansible source: String, into inventory: inout AnsibleInventory, diagnostics: inout [PlaybookError], depth: Int) {
        switch format(of: source) {
        case .ansibleDirectory:
            guard depth < 8 else {
                diagnostics.append(
                    PlaybookError(
                        .unreadable("inventory directories are nested more than 8 deep here (a symbolic link loop?)"),
                        at: SourceLocation(file: source, line: 1, column: 1), keyPath: ""))
                return
            }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: source) else {
                diagnostics.append(
                    PlaybookError(.unreadable("cannot read the directory"), at: SourceLocation(file: source, line: 1, column: 1), keyPath: ""))
                return
            }
            for name in names.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) {
                guard !name.hasPrefix("."), !ignoredExtensions.contains(where: { name.hasSuffix($0) }),
                    name != "group_vars", name != "host_vars"
                else { continue }
                let path = (source as NSString).appendingPathComponent(name)
                if format(of: path) == .unreadable {
                    diagnostics.append(
                        PlaybookError(
                            .unreadable("cannot read this inventory file (a dangling symbolic link, or no permission?)"),
                            at: SourceLocation(file: path, line: 1, column: 1), keyPath: ""))
                    continue
                }
                if format(of: path) == .golive {
                    diagnostics.append(
                        PlaybookError(
                            .conflict("a golive inventory cannot be part of an Ansible inventory directory"),
                            at: SourceLocation(file: path, line: 1, column: 1), keyPath: "",
                            hint: "move it out of \(source), or give it with -i on its own"))
                    continue
                }
                read(ansible: path, into: &inventory, diagnostics: &diagnostics, depth: depth + 1)
            }
        case .ansibleINI:
            guard let data = FileManager.default.contents(atPath: source) else {
                diagnostics.append(PlaybookError(.unreadable("cannot read the file"), at: SourceLocation(file: source, line: 1, column: 1), keyPath: ""))
                return
            }
            switch SourceText.decode(data, file: source) {
            case .success(let text):
                if text.hasPrefix("$ANSIBLE_VAULT;") {
                    diagnostics.append(
                        PlaybookError(
                            .invalidValue("this file is encrypted with Ansible Vault, which golive does not read"),
                            at: SourceLocation(file: source, line: 1, column: 1), keyPath: "", hint: AnsibleResolver.vaultHint))
                    return
                }
                AnsibleINIParser(file: source, text: text).parse(into: &inventory, diagnostics: &diagnostics)
            case .failure(let error): diagnostics.append(error)
            }
        case .ansibleYAML, .golive, .unreadable:
            let (reader, root) = YAMLReader.load(file: source)
            if let root { AnsibleYAMLParser(reader: reader).parse(root, into: &inventory) }
            diagnostics += reader.diagnostics
        }
    }
}
