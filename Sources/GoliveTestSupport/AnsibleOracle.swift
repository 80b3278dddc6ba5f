import Foundation
import System

#if canImport(Glibc)
    import Glibc
#endif

/// Ansible itself (`ansible-core` from PyPI, in a private virtual environment), to check golive's
/// reading of Ansible inventories against: `ansible-inventory --list` and `ansible --list-hosts`.
public struct AnsibleOracle: Sendable {
    /// The directory of the environment's executables.
    public let bin: String
    /// Where Ansible keeps its state for these runs (not the user's ~/.ansible).
    public let home: String

    /// Why the oracle is not there.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The environment beside the package (`.build/ansible-oracle`, made and filled once), or the
    /// benchmark's, when it already has ansible-core.
    public init(root: String = GoliveBinary().root) throws {
        let benchmark = root + "/bench/.venv/bin"
        let own = root + "/.build/ansible-oracle"
        home = NSTemporaryDirectory() + "golive-ansible-home-\(getpid())"
        if FileManager.default.isExecutableFile(atPath: benchmark + "/ansible-inventory") {
            bin = benchmark
            return
        }
        bin = own + "/bin"
        if FileManager.default.isExecutableFile(atPath: bin + "/ansible-inventory") { return }
        // One installer at a time: a second test process waits for the first's.
        let lock = open(root + "/.build/ansible-oracle.lock", O_CREAT | O_RDWR, 0o644)
        defer { if lock >= 0 { close(lock) } }
        if lock >= 0 { flock(lock, LOCK_EX) }
        if FileManager.default.isExecutableFile(atPath: bin + "/ansible-inventory") { return }
        let venv = try ChildProcess.run("/usr/bin/env", ["python3", "-m", "venv", own])
        guard venv.status == 0 else { throw Unavailable(description: "python3 -m venv failed: \(venv.output)") }
        let pip = try ChildProcess.run(bin + "/pip", ["install", "-q", "--disable-pip-version-check", "ansible-core"])
        guard pip.status == 0 else { throw Unavailable(description: "pip install ansible-core failed: \(pip.output)") }
    }

    /// Runs one of Ansible's commands with stdout and stderr apart.
    public func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let environment = [
            "ANSIBLE_HOME": home, "ANSIBLE_CONFIG": home + "/none.cfg", "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
            "ANSIBLE_DEPRECATION_WARNINGS": "False", "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_SYSTEM_WARNINGS": "False",
        ]
        return try Self.capture(bin + "/" + tool, arguments, environment: environment)
    }

    /// Runs a program to its end; its stdout and stderr, each read from a file of its own.
    public static func capture(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let base = NSTemporaryDirectory() + "golive-capture-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let child = try ChildProcess(executable, arguments, stdout: base + ".out", stderr: base + ".err", environment: environment)
        let status = child.wait()
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return (status, out, err)
    }
}
