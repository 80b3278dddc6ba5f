internal import CLibSSH2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Carries TCP streams through a jump host (ProxyJump): each tunnel is a direct-tcpip channel bridged
/// to one end of a socketpair whose other end becomes the socket of the session behind it.
///
/// It is the jump session's only operation and never finishes while the session lives. A channel
/// write that returned EAGAIN is always retried first, before anything else touches the session.
final class TunnelPump: LoopOperation, @unchecked Sendable {
    private final class Tunnel {
        let channel: OpaquePointer
        let fd: Int32
        var toSocket = Data()
        var toChannel = Data()
        var channelEOF = false
        var socketEOF = false
        var eofSent = false
        var closed = false
        init(channel: OpaquePointer, fd: Int32) {
            self.channel = channel
            self.fd = fd
        }
    }

    struct Request {
        var host: String
        var port: Int
        var result: OneShot<Int32>
    }

    private var requests: [Request] = []
    private var tunnels: [Tunnel] = []
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)

    deinit { buffer.deallocate() }

    /// Adds a tunnel request (loop thread).
    func request(_ request: Request) { requests.append(request) }

    override func fail(_ error: SSHError) {
        for request in requests { request.result.fail(error) }
        requests.removeAll()
        for tunnel in tunnels where !tunnel.closed {
            close(tunnel.fd)
            tunnel.closed = true
        }
        tunnels.removeAll()
    }

    override func cancel(_ core: SessionCore) -> OperationProgress { .blocked }
    override func deadlineReached(_ core: SessionCore) -> OperationProgress { .blocked }

    override var keepaliveSafe: Bool { tunnels.allSatisfy { $0.toChannel.isEmpty } }

    override func extraPollDescriptors() -> [(fd: Int32, events: Int16)] {
        tunnels.compactMap { tunnel in
            guard !tunnel.closed else { return nil }
            var events: Int16 = 0
            if tunnel.toChannel.isEmpty && !tunnel.socketEOF { events |= Int16(POLLIN) }
            if !tunnel.toSocket.isEmpty { events |= Int16(POLLOUT) }
            return (tunnel.fd, events)
        }
    }

    override func progress(_ core: SessionCore) -> OperationProgress {
        guard let session = core.session else {
            fail(core.error(.connectionLost, .tunnel, message: "jump host connection closed"))
            return .finished
        }
        // 1. Finish a half-sent channel write before anything else.
        for tunnel in tunnels where !tunnel.toChannel.isEmpty && !tunnel.closed {
            switch writeChannel(core, tunnel) {
            case .blocked: return .blocked
            case .failed(let error): return lose(core, error)
            case .done: break
            }
        }
        // 2. Open requested tunnels.
        while let request = requests.first {
            guard let channel = golive_ssh2_channel_direct_tcpip(session, request.host, Int32(request.port)) else {
                let code = libssh2_session_last_errno(session)
                if code == LIBSSH2_ERROR_EAGAIN { return .blocked }
                requests.removeFirst()
                let error = core.failure(code, .tunnel, kind: .connectFailed)
                request.result.fail(
                    SSHError(
                        kind: error.kind == .connectionLost ? .connectionLost : .connectFailed, host: request.host,
                        endpoint: "\(request.host):\(request.port)", operation: .tunnel,
                        message: "jump host \(core.target.name) cannot open a tunnel: \(error.message)"))
                if error.kind == .connectionLost { return lose(core, error) }
                continue
            }
            requests.removeFirst()
            var pair: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0
            else {
                _ = libssh2_channel_free(channel)
                request.result.fail(core.error(
                        .connectFailed, .tunnel, message: "socketpair failed: \(String(cString: strerror(errno)))"))
                continue
            }
            for fd in pair { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            tunnels.append(Tunnel(channel: channel, fd: pair[0]))
            request.result.succeed(pair[1])
        }
        // 3. Move data both ways.
        var movedAny = false
        for tunnel in tunnels where !tunnel.closed {
            // channel -> socket
            while tunnel.toSocket.isEmpty && !tunnel.channelEOF {
                let base = buffer.baseAddress?.assumingMemoryBound(to: CChar.self)
                let rc = golive_ssh2_channel_read(tunnel.channel, base, buffer.count)
                if rc == Int(LIBSSH2_ERROR_EAGAIN) { break }
                if rc < 0 {
                    let error = core.failure(Int32(rc), .tunnel, kind: .connectionLost)
                    if error.kind == .connectionLost { return lose(core, error) }
                    tunnel.channelEOF = true
                    break
                }
                if rc == 0 {
                    if libssh2_channel_eof(tunnel.channel) != 0 {
                        tunnel.channelEOF = true
                        shutdown(tunnel.fd, Int32(SHUT_WR))
                    }
                    break
                }
                tunnel.toSocket = Data(UnsafeRawBufferPointer(rebasing: buffer[0..<rc]))
                movedAny = true
                flushSocket(tunnel)
            }
            flushSocket(tunnel)
            // socket -> channel
            if tunnel.toChannel.isEmpty && !tunnel.socketEOF {
                let rc = recv(tunnel.fd, buffer.baseAddress, buffer.count, 0)
                if rc > 0 {
                    tunnel.toChannel = Data(UnsafeRawBufferPointer(rebasing: buffer[0..<rc]))
                    movedAny = true
                } else if rc == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                    tunnel.socketEOF = true
                }
            }
            if !tunnel.toChannel.isEmpty {
                switch writeChannel(core, tunnel) {
                case .blocked: return .blocked
                case .failed(let error): return lose(core, error)
                case .done: break
                }
            }
            if tunnel.socketEOF && tunnel.toChannel.isEmpty && !tunnel.eofSent {
                let rc = libssh2_channel_send_eof(tunnel.channel)
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                tunnel.eofSent = true
            }
            if tunnel.socketEOF && (tunnel.channelEOF || tunnel.eofSent) && tunnel.toSocket.isEmpty {
                let rc = libssh2_channel_free(tunnel.channel)
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                close(tunnel.fd)
                tunnel.closed = true
            }
        }
        tunnels.removeAll { $0.closed }
        return movedAny ? .again : .blocked
    }

    private enum WriteOutcome {
        case done, blocked
        case failed(SSHError)
    }

    private func writeChannel(_ core: SessionCore, _ tunnel: Tunnel) -> WriteOutcome {
        while !tunnel.toChannel.isEmpty {
            let rc = tunnel.toChannel.withUnsafeBytes { raw -> Int in
                golive_ssh2_channel_write(
                    tunnel.channel, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            }
            if rc == Int(LIBSSH2_ERROR_EAGAIN) { return .blocked }
            if rc < 0 {
                let error = core.failure(Int32(rc), .tunnel, kind: .connectionLost)
                if error.kind == .connectionLost { return .failed(error) }
                tunnel.toChannel.removeAll()
                tunnel.socketEOF = true
                return .done
            }
            tunnel.toChannel.removeFirst(rc)
        }
        return .done
    }

    private func flushSocket(_ tunnel: Tunnel) {
        while !tunnel.toSocket.isEmpty {
            let rc = tunnel.toSocket.withUnsafeBytes { raw in send(tunnel.fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL)) }
            if rc <= 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK {
                    tunnel.toSocket.removeAll()
                    tunnel.channelEOF = true
                }
                return
            }
            tunnel.toSocket.removeFirst(rc)
        }
    }

    private func lose(_ core: SessionCore, _ error: SSHError) -> OperationProgress {
        fail(error)
        core.markBroken(error)
        return .finished
    }
}
