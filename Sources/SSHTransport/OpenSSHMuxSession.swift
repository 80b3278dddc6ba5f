import Foundation
import System

/// One command on a host's ControlMaster, asked for over the master's socket in OpenSSH's own
/// multiplexing protocol (`PROTOCOL.mux`, version 4), as `ssh -S SOCKET` does, but without a
/// process of its own: hello, `MUX_C_NEW_SESSION` with the command, the command's three pipe ends
/// passed over the socket (`SCM_RIGHTS`), then the exit status when the session ends. The master
/// reads and writes the pipes itself.
///
/// Non-blocking throughout: ``poll()`` moves it on as far as the socket allows.
final class OpenSSHMuxSession {
    /// What went wrong, as the master said it.
    struct Failure: Error, CustomStringConvertible {
        /// The master refused the session (the server's `MaxSessions`, say).
        var refused: Bool
        var description: String
    }

    private enum State { case hello, opening, open, ended }
    private enum Message: UInt32 {
        case hello = 0x0000_0001, newSession = 0x1000_0002, aliveCheck = 0x1000_0004, ok = 0x8000_0001, permissionDenied = 0x8000_0002
        case failure = 0x8000_0003, exitMessage = 0x8000_0004, alive = 0x8000_0005, sessionOpened = 0x8000_0006
        case ttyAllocFail = 0x8000_0008
    }

    private let socket: UnixSocket
    private let command: String
    private let pipes: StreamPipes
    private var state = State.hello
    private var received = Data()
    /// The command's exit status, once the master has said it.
    private(set) var exitStatus: Int32?
    private static let version: UInt32 = 4
    private static let requestID: UInt32 = 1

    /// Connects to the master and says hello; `command` is asked for once the master has answered.
    ///
    /// - Throws: ``Failure`` when the socket cannot be reached (the master is gone).
    init(socket path: String, command: String, pipes: StreamPipes) throws {
        do {
            socket = try UnixSocket(connectingTo: path)
            try socket.write(Self.packet(.hello, Self.uint32(Self.version)))
        } catch {
            throw Failure(refused: false, description: "the ControlMaster does not answer: \(error)")
        }
        self.command = command
        self.pipes = pipes
    }

    /// True once the master has said the command's exit status.
    var ended: Bool { state == .ended }

    /// Reads what the master said and acts on it; true when anything happened.
    ///
    /// - Throws: ``Failure`` when the master refuses the session, speaks another protocol, or goes
    ///   away before the command's exit status.
    func poll() throws -> Bool {
        guard state != .ended else { return false }
        guard let data = socket.readAvailable() else {
            throw Failure(refused: false, description: "the ControlMaster went away before the command's exit status")
        }
        received.append(data)
        var moved = !data.isEmpty
        while let (type, body) = nextPacket() {
            moved = true
            switch Message(rawValue: type) {
            case .hello:
                guard state == .hello, Self.readUInt32(body, at: 0) == Self.version else {
                    throw Failure(refused: false, description: "the ControlMaster speaks another protocol")
                }
                try openSession()
            case .sessionOpened:
                state = .open
            case .permissionDenied, .failure:
                let reason = Self.readString(body, at: 4) ?? "no reason given"
                throw Failure(refused: true, description: "the ControlMaster refused the session: \(reason)")
            case .exitMessage:
                exitStatus = Self.readUInt32(body, at: 4).map { Int32(bitPattern: $0) }
                state = .ended
                socket.close()
                return true
            case .ok, .ttyAllocFail, .newSession, .aliveCheck, .alive, nil:
                continue
            }
        }
        return moved
    }

    /// True when the master at `path` answers an alive check (`MUX_C_ALIVE_CHECK`) within `bound`: a
    /// master that is going down with its connection answers nothing.
    static func answers(socket path: String, within bound: Duration) async -> Bool {
        guard let socket = try? UnixSocket(connectingTo: path), (try? socket.write(packet(.hello, uint32(version)))) != nil else { return false }
        let deadline = ContinuousClock.now.advanced(by: bound)
        var received = Data()
        while ContinuousClock.now < deadline {
            guard let data = socket.readAvailable() else { return false }
            received.append(data)
            while let length = readUInt32(received, at: 0), received.count >= 4 + Int(length), length >= 4 {
                let type = readUInt32(received, at: 4)
                received = Data(received.dropFirst(4 + Int(length)))
                if type == Message.hello.rawValue {
                    guard (try? socket.write(packet(.aliveCheck, uint32(requestID)))) != nil else { return false }
                } else if type == Message.alive.rawValue {
                    return true
                }
            }
            await Pause.uncancelled(.milliseconds(2))
        }
        return false
    }

    /// Asks for the session and passes the command's stdin, stdout and stderr.
    private func openSession() throws {
        var body = Self.uint32(Self.requestID)
        body += Self.string("")  // reserved
        for _ in 0..<4 { body += Self.uint32(0) }  // no tty, no X11, no agent, not a subsystem (each a uint32)
        body += Self.uint32(0xFFFF_FFFF)  // no escape character
        body += Self.string("")  // terminal type
        body += Self.string(command)
        do {
            try socket.write(Self.packet(.newSession, body))
            for descriptor in pipes.farEnds { try socket.send(descriptor: descriptor) }
        } catch {
            throw Failure(refused: false, description: "the ControlMaster does not answer: \(error)")
        }
        // The master holds its own copies now: the streams end when its side closes them.
        pipes.closeFarEnds()
        state = .opening
    }

    /// The next whole packet received (its type and body), if any.
    private func nextPacket() -> (UInt32, Data)? {
        guard let length = Self.readUInt32(received, at: 0), received.count >= 4 + Int(length), length >= 4,
            let type = Self.readUInt32(received, at: 4)
        else { return nil }
        let start = received.startIndex
        let body = Data(received[(start + 8)..<(start + 4 + Int(length))])
        received = Data(received[(start + 4 + Int(length))...])
        return (type, body)
    }

    private static func packet(_ type: Message, _ body: [UInt8]) -> Data {
        Data(uint32(UInt32(4 + body.count)) + uint32(type.rawValue) + body)
    }

    private static func uint32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    private static func string(_ value: String) -> [UInt8] {
        let bytes = Array(value.utf8)
        return uint32(UInt32(bytes.count)) + bytes
    }

    private static func readUInt32(_ data: Data, at offset: Int) -> UInt32? {
        guard data.count >= offset + 4 else { return nil }
        let start = data.startIndex + offset
        return data[start..<(start + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    private static func readString(_ data: Data, at offset: Int) -> String? {
        guard let length = readUInt32(data, at: offset), data.count >= offset + 4 + Int(length) else { return nil }
        let start = data.startIndex + offset + 4
        return String(decoding: data[start..<(start + Int(length))], as: UTF8.self)
    }
}
