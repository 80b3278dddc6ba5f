import Foundation

/// Whether a run's controller process still lives, when that can be told from here.
public enum ControllerLiveness {
    /// The host name and pid in a recorded controller (`HOST pid PID`, as locks and runs record it).
    public static func process(in controller: String) -> (host: String, pid: Int32)? {
        guard let range = controller.range(of: " pid ", options: .backwards), let pid = Int32(controller[range.upperBound...]) else {
            return nil
        }
        return (String(controller[..<range.lowerBound]), pid)
    }

    /// True when `pid` on `host` is a live golive process on this machine (stopped ones included:
    /// a SIGSTOPped controller wakes up again); false when it is gone; nil when it runs on another
    /// machine. This very process does not count (a recovery in the same process, in tests).
    public static func isAlive(host: String, pid: Int32) -> Bool? {
        guard host == ProcessInfo.processInfo.hostName else { return nil }
        if pid == getpid() || pid <= 1 { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        // A reused pid is another program: only a golive process counts.
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return true }
        let argv0 = data.split(separator: 0).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        if let state = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), state.contains(") Z ") { return false }
        return URL(fileURLWithPath: argv0).lastPathComponent.contains("golive")
    }
}
