internal import CLibSSH2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A socket address produced by name resolution, kept as bytes so it can cross threads.
struct ResolvedAddress: Sendable, Hashable, CustomStringConvertible {
    var family: Int32
    var bytes: [UInt8]

    /// Resolves a host name or address literal (IPv4 and IPv6) for TCP.
    ///
    /// - Throws: a message from `getaddrinfo` when nothing is found.
    static func resolve(_ host: String, port: Int) throws(ResolveFailure) -> [ResolvedAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        if rc != 0 {
            // Loopback-only machines have no "configured" address family for AI_ADDRCONFIG; retry without it.
            hints.ai_flags = 0
            let retry = getaddrinfo(host, String(port), &hints, &list)
            if retry != 0 { throw ResolveFailure(message: String(cString: gai_strerror(retry))) }
        }
        defer { freeaddrinfo(list) }
        var result: [ResolvedAddress] = []
        var cursor = list
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                let length = Int(info.pointee.ai_addrlen)
                let bytes = [UInt8](UnsafeRawBufferPointer(start: address, count: length))
                let resolved = ResolvedAddress(family: info.pointee.ai_family, bytes: bytes)
                if !result.contains(resolved) { result.append(resolved) }
            }
            cursor = info.pointee.ai_next
        }
        if result.isEmpty { throw ResolveFailure(message: "no address found") }
        return result
    }

    var description: String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let rc = bytes.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: sockaddr.self) else { return -1 }
            return getnameinfo(base, socklen_t(raw.count), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
        }
        guard rc == 0 else { return "?" }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Why a name did not resolve.
struct ResolveFailure: Error {
    var message: String
}
