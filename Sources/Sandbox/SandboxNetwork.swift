import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Network namespaces for simulated hosts: each host gets a namespace of its own, joined to this
/// machine by a veth pair, with an address of its own (`10.X.Y.Z`), so hosts are told apart by
/// address as real servers are, and a host's link can be cut and restored (a partition).
///
/// Names derive from the sandbox's directory (`golive-TAG-web1`, links `glTAG1`), so everything a
/// sandbox made can be found again and removed, even after a crash, without touching anything else.
/// Needs root and iproute2's `ip`.
public struct SandboxNetwork: Sendable {
    /// One host's namespace and addresses.
    public struct Slot: Codable, Sendable, Hashable {
        /// The namespace's name.
        public var namespace: String
        /// The link on this machine's side.
        public var link: String
        /// The address on this machine's side.
        public var gatewayAddress: String
        /// The host's address inside its namespace.
        public var hostAddress: String
    }

    /// Short tag derived from the sandbox's directory.
    public let tag: String

    /// The network of the sandbox at `directory` (an absolute path).
    public init(directory: String) {
        var hash: UInt32 = 2_166_136_261
        for byte in directory.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        tag = String(format: "%06x", hash & 0xFF_FFFF)
    }

    /// Where `ip` lives, if anywhere.
    static var ipTool: String? {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// True when namespaces can be made here: running as root with `ip` installed.
    public static var isAvailable: Bool { geteuid() == 0 && ipTool != nil }

    /// A second address octet no other interface of this machine uses in `10.0.0.0/8`.
    public func allocateOctet() throws -> Int {
        let used = try HostTools.sh("\(Self.ipTool ?? "ip") -o -4 addr show")
        let start = 64 + Int(UInt32(tag, radix: 16)! % 128)
        for offset in 0..<128 {
            let octet = 64 + (start - 64 + offset) % 128
            if !used.contains(" 10.\(octet).") { return octet }
        }
        throw SandboxError(message: "no free 10.X.0.0/16 range for sandbox namespaces")
    }

    /// The slot of the host at `index` (0-based) in the range `10.octet.0.0/16`.
    public func slot(index: Int, name: String, octet: Int) -> Slot {
        let third = index / 64, fourth = 4 * (index % 64)
        return Slot(
            namespace: "golive-\(tag)-\(name)", link: "gl\(tag)\(index)",
            gatewayAddress: "10.\(octet).\(third).\(fourth + 1)", hostAddress: "10.\(octet).\(third).\(fourth + 2)")
    }

    /// Creates the namespace, the veth pair and the addresses of `slot`.
    public func create(_ slot: Slot) throws {
        let ip = Self.ipTool ?? "ip"
        let peer = slot.link + "p"
        // A fixed MAC and a permanent neighbour entry: when the host is cut off, packets to it are
        // dropped silently instead of failing fast on an ARP timeout, as across a routed network.
        let octets = slot.hostAddress.split(separator: ".").compactMap { Int($0) }
        let mac = "02:00:" + octets.map { String(format: "%02x", $0) }.joined(separator: ":")
        try HostTools.sh(
            """
            set -e
            \(ip) netns add \(slot.namespace)
            \(ip) link add \(slot.link) type veth peer name \(peer) address \(mac)
            \(ip) link set \(peer) netns \(slot.namespace)
            \(ip) -n \(slot.namespace) link set \(peer) name eth0
            \(ip) addr add \(slot.gatewayAddress)/30 dev \(slot.link)
            \(ip) link set \(slot.link) up
            \(ip) neigh replace \(slot.hostAddress) lladdr \(mac) dev \(slot.link) nud permanent
            \(ip) -n \(slot.namespace) addr add \(slot.hostAddress)/30 dev eth0
            \(ip) -n \(slot.namespace) link set eth0 up
            \(ip) -n \(slot.namespace) link set lo up
            """)
    }

    /// The command line that runs `executable` inside the slot's namespace.
    public func inside(_ slot: Slot, _ executable: String, _ arguments: [String]) -> (String, [String]) {
        (Self.ipTool ?? "ip", ["netns", "exec", slot.namespace, executable] + arguments)
    }

    /// Cuts a host off: packets to and from it are dropped silently from now on (a partition, not
    /// a refused connection), until ``heal(_:)``.
    public func partition(_ slot: Slot) throws {
        try HostTools.sh("\(Self.ipTool ?? "ip") -n \(slot.namespace) link set eth0 down")
    }

    /// Ends a partition made by ``partition(_:)``.
    public func heal(_ slot: Slot) throws {
        let ip = Self.ipTool ?? "ip"
        try HostTools.sh(
            """
            set -e
            \(ip) -n \(slot.namespace) link set eth0 up
            \(ip) -n \(slot.namespace) addr replace \(slot.hostAddress)/30 dev eth0
            """)
    }

    /// Removes every namespace and link of this sandbox (by their derived names).
    public func destroyAll() {
        guard let ip = Self.ipTool, geteuid() == 0 else { return }
        let namespaces = (try? HostTools.sh("\(ip) netns list")) ?? ""
        for line in namespaces.split(separator: "\n") {
            let name = line.split(separator: " ").first.map(String.init) ?? ""
            if name.hasPrefix("golive-\(tag)-") { _ = try? HostTools.output(ip, ["netns", "del", name]) }
        }
        let links = (try? HostTools.sh("\(ip) -o link show")) ?? ""
        for line in links.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { continue }
            let name = fields[1].split(separator: "@").first.map { String($0).trimmingCharacters(in: [":"]) } ?? ""
            if name.hasPrefix("gl\(tag)") { _ = try? HostTools.output(ip, ["link", "del", name]) }
        }
    }
}
