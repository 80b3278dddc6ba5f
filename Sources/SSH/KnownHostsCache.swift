import Foundation

/// Parsed known_hosts files, reused while the files are unchanged: a run over N hosts sharing one
/// known_hosts file would otherwise parse all of it N times (quadratic; visible in profiles at 200 hosts).
final class KnownHostsCache: @unchecked Sendable {
    private let lock = NSLock()
    private var parsed: [[String]: (stamp: [String], knownHosts: KnownHosts)] = [:]

    /// The files' entries, parsed again only when a file's size or modification time changed.
    func load(_ files: [String]) throws -> KnownHosts {
        let stamp = files.map { file -> String in
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file) else { return "-" }
            let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(size)@\(modified)"
        }
        lock.lock()
        if let hit = parsed[files], hit.stamp == stamp {
            lock.unlock()
            return hit.knownHosts
        }
        lock.unlock()
        let knownHosts = try KnownHosts(files: files)
        lock.lock()
        parsed[files] = (stamp, knownHosts)
        lock.unlock()
        return knownHosts
    }
}
