import Foundation

/// What `runStarted` records about a run: enough to rebuild its play (`resume`, `rollback`), to
/// draw its console and to compare it with its plan. Stored flat in the event's `details`.
public struct RunStartedDetails: Codable, Sendable, Hashable {
    /// Playbook title.
    public var playbook: String
    /// Playbook file (absolute).
    public var playbookFile: String
    /// Inventory file (absolute).
    public var inventoryFile: String
    /// Every inventory source (absolute), a JSON list, when there are several (Ansible inventories merged).
    public var inventoryFiles: String?
    /// Environment (the lock's name).
    public var environment: String
    /// `run`, `rehearse`, `check` or `rollback`.
    public var kind: String
    /// Who started it.
    public var operatorName: String
    /// Target hosts, comma-separated, in inventory order.
    public var hosts: String
    /// Number of batches.
    public var batches: String
    /// The controller's host name.
    public var controller: String
    /// The controller's pid.
    public var pid: String
    /// Backup and deploy steps per host.
    public var stepsPerHost: String
    /// The batches' hosts: `web1,web2;web3,web4`.
    public var batchHosts: String
    /// Window opening (RFC 3339), when declared.
    public var windowStart: String?
    /// Window end (RFC 3339), when declared.
    public var windowEnd: String?
    /// The effective rollback point (RFC 3339), when a window is declared.
    public var rollbackPoint: String?
    /// `--var` values as given, a JSON list of `key=value` strings.
    public var vars: String?
    /// `--limit`, when given.
    public var limit: String?
    /// The resolved plan's fingerprint.
    public var planFingerprint: String?
    /// The plays, when the playbook has several: `id=1,2;id=3` (each play's batch numbers).
    public var plays: String?

    enum CodingKeys: String, CodingKey {
        case playbook, playbookFile = "playbook_file", inventoryFile = "inventory_file", inventoryFiles = "inventory_files", environment, kind
        case operatorName = "operator", hosts, batches, controller, pid, stepsPerHost = "steps_per_host"
        case batchHosts = "batch_hosts", windowStart = "window_start", windowEnd = "window_end"
        case rollbackPoint = "rollback_point", vars, limit, planFingerprint = "plan_fingerprint", plays
    }

    /// Creates the details.
    public init(
        playbook: String, playbookFile: String, inventoryFile: String, environment: String, kind: String,
        operatorName: String, hosts: [String], batches: [[String]], controller: String, pid: Int32, stepsPerHost: Int
    ) {
        self.playbook = playbook
        self.playbookFile = playbookFile
        self.inventoryFile = inventoryFile
        self.environment = environment
        self.kind = kind
        self.operatorName = operatorName
        self.hosts = hosts.joined(separator: ",")
        self.batches = String(batches.count)
        self.controller = controller
        self.pid = String(pid)
        self.stepsPerHost = String(stepsPerHost)
        batchHosts = batches.map { $0.joined(separator: ",") }.joined(separator: ";")
    }

    /// The target hosts.
    public var hostList: [String] { hosts.split(separator: ",").map(String.init) }
    /// The batches' hosts.
    public var batchList: [[String]] {
        batchHosts.split(separator: ";").map { $0.split(separator: ",").map(String.init) }
    }
    /// The `--var` values as given on the command line.
    public var varList: [String] {
        guard let vars, let list = try? JSONDecoder().decode([String].self, from: Data(vars.utf8)) else { return [] }
        return list
    }
    /// Every inventory source the run read, in order.
    public var inventoryList: [String] {
        guard let inventoryFiles, let list = try? JSONDecoder().decode([String].self, from: Data(inventoryFiles.utf8)) else {
            return [inventoryFile]
        }
        return list
    }
    /// The controller's pid.
    public var controllerPID: Int32? { Int32(pid) }
    /// Each play's id and batch numbers, in order (empty for a single-play run).
    public var playList: [(id: String, batches: [Int])] {
        (plays ?? "").split(separator: ";").compactMap { entry in
            guard let equals = entry.firstIndex(of: "=") else { return nil }
            return (String(entry[..<equals]), entry[entry.index(after: equals)...].split(separator: ",").compactMap { Int($0) })
        }
    }
    /// Steps per host.
    public var stepCount: Int { Int(stepsPerHost) ?? 0 }
}
