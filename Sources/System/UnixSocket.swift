internal import CGoliveSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A connected, non-blocking Unix stream socket that can also pass descriptors (`SCM_RIGHTS`).
public final class UnixSocket: @unchecked Sendable {
    private var fd: Int32

    /// Connects to the socket at `path`.
    ///
    /// - Throws: ``ProcessError`` with the reason (no such socket, refused, path too long).
    public init(connectingTo path: String) throws {
        fd = golive_connect_unix(path)
        guard fd >= 0 else { throw ProcessError(message: "cannot connect to \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close() }

    /// Writes all of `data` (a control message is small: a full socket buffer is an error here).
    ///
    /// - Throws: ``ProcessError`` when the peer is gone or the buffer is full.
    public func write(_ data: Data) throws {
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress?.advanced(by: offset), $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw ProcessError(message: "socket write: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Passes a descriptor to the peer (one data byte carries it).
    public func send(descriptor: Int32) throws {
        guard golive_send_fd(fd, descriptor) == 0 else { throw ProcessError(message: "passing a descriptor: \(String(cString: strerror(errno)))") }
    }

    /// What can be read now: bytes (possibly none), or nil once the peer has closed the socket.
    public func readAvailable() -> Data? {
        guard fd >= 0 else { return nil }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return data }
            return data.isEmpty ? nil : data  // end of stream (or an error): said on the next call
        }
    }

    /// Closes the socket. Safe to call twice.
    public func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }
}
