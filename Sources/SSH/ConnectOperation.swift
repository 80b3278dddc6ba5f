internal import CLibSSH2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What is known about an established connection.
public struct SSHConnectionInfo: Sendable, Hashable {
    /// The host's key, verified against known_hosts.
    public var hostKey: HostKey
    /// The authentication method that succeeded (`publickey /path`, `agent`, `password`).
    public var authMethod: String
    /// The address actually connected to (after resolution), or `via JUMP` for tunnelled connections.
    public var connectedAddress: String
    /// True when the host key was unknown and has just been appended to known_hosts.
    public var hostKeyAdded: Bool
    /// Connect + handshake + authentication time.
    public var setupTime: Duration
}

/// Brings a session from nothing to authenticated: TCP connect (or a tunnel's socket), handshake,
/// host key verification, then each authentication method in turn.
final class ConnectOperation: LoopOperation, @unchecked Sendable {
    enum Socket {
        case addresses([ResolvedAddress])
        case tunnel(Int32, via: String)
    }

    private enum State {
        case tcpStart(Int)
        case tcpWait(Int)
        case handshake
        case auth(Int)
        case agentIdentities(Int, previous: UnsafeMutablePointer<libssh2_agent_publickey>?)
        case agentAuth(Int, identity: UnsafeMutablePointer<libssh2_agent_publickey>)
    }

    private let target: SSHTarget
    private let knownHosts: KnownHosts
    private let socket: Socket
    private let result = OneShot<SSHConnectionInfo>()
    private var state: State
    private let started = ContinuousClock.now
    private var lastSocketError = ""
    private var hostKey: HostKey?
    private var hostKeyAdded = false
    private var refusals: [String] = []
    private var unsupportedKeys: [String] = []
    private var agent: OpaquePointer?
    private var cStrings: [UnsafeMutablePointer<CChar>] = []

    init(target: SSHTarget, knownHosts: KnownHosts, socket: Socket) {
        self.target = target
        self.knownHosts = knownHosts
        self.socket = socket
        switch socket {
        case .addresses: state = .tcpStart(0)
        case .tunnel: state = .handshake
        }
        super.init()
        deadline = started.advanced(by: target.connectTimeout)
    }

    deinit {
        for pointer in cStrings { free(pointer) }
    }

    func install(_ continuation: CheckedContinuation<SSHConnectionInfo, any Error>) { result.install(continuation) }

    override func fail(_ error: SSHError) {
        freeAgent()
        result.fail(error)
    }

    override func deadlineReached(_ core: SessionCore) -> OperationProgress {
        let phase: String
        switch state {
        case .tcpStart, .tcpWait: phase = "TCP connect"
        case .handshake: phase = "SSH handshake (no banner or key exchange from the server)"
        default: phase = "authentication"
        }
        let error = core.error(
            .connectTimedOut, .connect,
            message: "\(phase) did not complete within \(target.connectTimeout.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
        fail(error)
        core.markBroken(error)
        return .finished
    }

    override func progress(_ core: SessionCore) -> OperationProgress {
        while true {
            switch state {
            case .tcpStart(let index):
                guard case .addresses(let addresses) = socket else { return .finished }
                guard index < addresses.count else {
                    return finish(core, core.error(.connectFailed, .connect, message: lastSocketError))
                }
                if let next = startTCP(core, addresses[index]) {
                    state = next ? .tcpWait(index) : .tcpStart(index + 1)
                    if next { return .blocked }
                } else {
                    state = .handshake
                    connected(core, addresses[index])
                }
            case .tcpWait(let index):
                guard case .addresses(let addresses) = socket else { return .finished }
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(core.fd, SOL_SOCKET, SO_ERROR, &code, &length)
                if code == EINPROGRESS || code == EALREADY { return .blocked }
                if code != 0 {
                    lastSocketError = "\(addresses[index]): \(String(cString: strerror(code)))"
                    close(core.fd)
                    core.fd = -1
                    state = .tcpStart(index + 1)
                    continue
                }
                connected(core, addresses[index])
                state = .handshake
            case .handshake:
                if case .tunnel(let fd, _) = socket, core.fd < 0 {
                    core.fd = fd
                    core.fdIsTunnel = true
                }
                if core.session == nil {
                    guard let session = golive_ssh2_session_init() else {
                        return finish(core, core.error(.handshakeFailed, .handshake, message: "libssh2_session_init failed"))
                    }
                    core.session = session
                    libssh2_session_set_blocking(session, 0)
                    let preferred = Self.hostKeyPreference(known: knownHosts.knownTypes(for: target.knownHostsName))
                    _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, preferred)
                }
                guard let session = core.session else { return .finished }
                let rc = libssh2_session_handshake(session, libssh2_socket_t(core.fd))
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                if rc != 0 {
                    var error = core.failure(rc, .handshake, kind: .handshakeFailed)
                    if error.message.contains("hostkey") || error.message.contains("host key") {
                        error.message += " (the server may offer only an RSA host key, which libssh2 1.10 cannot use)"
                    }
                    return finish(core, error)
                }
                if let error = verifyHostKey(core, session) { return finish(core, error) }
                state = .auth(0)
            case .auth(let index):
                guard index < target.authentication.count else { return finish(core, authFailure(core)) }
                guard let session = core.session else { return .finished }
                switch target.authentication[index] {
                case .privateKeyFile(let path, let passphrase):
                    let type = PrivateKeyFile.keyType(atPath: path)
                    guard FileManager.default.isReadableFile(atPath: path) else {
                        refusals.append("publickey \(path): file not readable")
                        state = .auth(index + 1)
                        continue
                    }
                    if type == "ssh-rsa" || type == "ssh-dss" {
                        unsupportedKeys.append(path)
                        refusals.append("publickey \(path): \(type ?? "") keys are not supported")
                        state = .auth(index + 1)
                        continue
                    }
                    let rc = golive_ssh2_userauth_publickey_fromfile(
                        session, target.user, nil, path, passphrase?.revealForAuthentication() ?? "")
                    if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                    if rc == 0 { return succeed(core, method: "publickey \(path)") }
                    if rc == LIBSSH2_ERROR_FILE {
                        refusals.append(
                            "publickey \(path): cannot load the key (\(core.lastError().message); wrong passphrase?)")
                    } else {
                        refusals.append("publickey \(path): refused by the server")
                    }
                    if let lost = socketLost(core, rc) { return finish(core, lost) }
                    state = .auth(index + 1)
                case .agent(let socketPath):
                    guard let path = socketPath ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] else {
                        refusals.append("agent: SSH_AUTH_SOCK is not set")
                        state = .auth(index + 1)
                        continue
                    }
                    freeAgent()
                    guard let agent = libssh2_agent_init(session) else {
                        refusals.append("agent: libssh2_agent_init failed")
                        state = .auth(index + 1)
                        continue
                    }
                    self.agent = agent
                    let pathCopy = strdup(path)
                    if let pathCopy { cStrings.append(pathCopy) }
                    libssh2_agent_set_identity_path(agent, pathCopy)
                    if libssh2_agent_connect(agent) != 0 || libssh2_agent_list_identities(agent) != 0 {
                        refusals.append("agent \(path): cannot connect or list identities")
                        freeAgent()
                        state = .auth(index + 1)
                        continue
                    }
                    state = .agentIdentities(index, previous: nil)
                case .password(let secret):
                    let rc = golive_ssh2_userauth_password(session, target.user, secret.revealForAuthentication())
                    if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                    if rc == 0 { return succeed(core, method: "password") }
                    if let lost = socketLost(core, rc) { return finish(core, lost) }
                    refusals.append("password: refused by the server")
                    state = .auth(index + 1)
                }
            case .agentIdentities(let index, let previous):
                guard let agent else {
                    state = .auth(index + 1)
                    continue
                }
                var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
                let rc = libssh2_agent_get_identity(agent, &identity, previous)
                guard rc == 0, let identity else {
                    if refusals.last?.hasPrefix("agent") != true { refusals.append("agent: no identity accepted") }
                    freeAgent()
                    state = .auth(index + 1)
                    continue
                }
                let blob = Data(bytes: identity.pointee.blob, count: identity.pointee.blob_len)
                if HostKey(blob: blob)?.type == "ssh-rsa" {
                    unsupportedKeys.append("agent identity \(String(cString: identity.pointee.comment))")
                    state = .agentIdentities(index, previous: identity)
                    continue
                }
                state = .agentAuth(index, identity: identity)
            case .agentAuth(let index, let identity):
                guard let agent else {
                    state = .auth(index + 1)
                    continue
                }
                let rc = libssh2_agent_userauth(agent, target.user, identity)
                if rc == LIBSSH2_ERROR_EAGAIN { return .blocked }
                if rc == 0 {
                    let comment = String(cString: identity.pointee.comment)
                    freeAgent()
                    return succeed(core, method: comment.isEmpty ? "agent" : "agent (\(comment))")
                }
                if let lost = socketLost(core, rc) { return finish(core, lost) }
                state = .agentIdentities(index, previous: identity)
            }
        }
    }

    private func socketLost(_ core: SessionCore, _ rc: Int32) -> SSHError? {
        let error = core.failure(rc, .authentication, kind: .authenticationFailed)
        return error.kind == .connectionLost ? error : nil
    }

    /// Opens a non-blocking socket and starts connecting. Returns nil when connected at once,
    /// true when in progress, false when this address failed.
    private func startTCP(_ core: SessionCore, _ address: ResolvedAddress) -> Bool? {
        let fd = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            lastSocketError = "socket(): \(String(cString: strerror(errno)))"
            return false
        }
        core.fd = fd
        let rc = address.bytes.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: sockaddr.self) else { return -1 }
            return Glibc.connect(fd, base, socklen_t(raw.count))
        }
        if rc == 0 { return nil }
        if errno == EINPROGRESS { return true }
        lastSocketError = "\(address): \(String(cString: strerror(errno)))"
        close(fd)
        core.fd = -1
        return false
    }

    private var connectedTo = ""

    private func connected(_ core: SessionCore, _ address: ResolvedAddress) {
        connectedTo = address.description
        var on: Int32 = 1
        setsockopt(core.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        // Dead-peer detection: TCP keepalive probes plus a bound on unacknowledged data, both about
        // three keepalive intervals, so a partitioned host is noticed even while a command is silent.
        let interval = Int32(max(1, target.keepaliveInterval.components.seconds))
        var idle = interval, count: Int32 = 3, userTimeout = UInt32(interval) * 3 * 1000
        setsockopt(core.fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(core.fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(core.fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &idle, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(core.fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(core.fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &userTimeout, socklen_t(MemoryLayout<UInt32>.size))
    }

    /// Host key algorithms, those known_hosts already holds for this host first (else libssh2 may pick
    /// ECDSA and report a valid ed25519 entry as unknown).
    static func hostKeyPreference(known: [String]) -> String {
        let all = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]
        let supportedKnown = known.filter(all.contains)
        return (supportedKnown + all.filter { !supportedKnown.contains($0) }).joined(separator: ",")
    }

    private func verifyHostKey(_ core: SessionCore, _ session: OpaquePointer) -> SSHError? {
        var length = 0
        var type: Int32 = 0
        guard let raw = libssh2_session_hostkey(session, &length, &type),
            let key = HostKey(blob: Data(bytes: raw, count: length))
        else {
            return core.error(.handshakeFailed, .hostKey, message: "the server presented no host key")
        }
        hostKey = key
        let name = target.knownHostsName
        let files = target.knownHostsFiles.map(Self.tilde).joined(separator: ", ")
        switch knownHosts.verify(key, for: name) {
        case .match:
            return nil
        case .revoked(let entry):
            return core.error(
                .hostKeyRevoked, .hostKey,
                message: "\(key.displayType) key \(key.fingerprint) for \(name) is marked @revoked in "
                    + "\(Self.tilde(entry.file)):\(entry.line)")
        case .mismatch(let expected):
            let lines = expected.map { "\(Self.tilde($0.file)):\($0.line) has \($0.key.fingerprint)" }
            return core.error(
                .hostKeyMismatch, .hostKey,
                message: "REMOTE HOST KEY CHANGED: key mismatch for \(name): the server offers \(key.displayType) key "
                    + "\(key.fingerprint), but \(lines.joined(separator: "; ")). Someone may be intercepting the "
                    + "connection, or the host was rebuilt; if the change is expected, remove the old entry "
                    + "(ssh-keygen -R '\(name)') and verify the new key out of band.")
        case .unknown(let others):
            if target.hostKeyPolicy == .acceptNew, !others.isEmpty {
                // A host already pinned with another key type is not new: a key of a new type is
                // never added on its own (stricter than OpenSSH's accept-new).
                return core.error(
                    .hostKeyMismatch, .hostKey,
                    message: "host key of another type: \(name) is pinned with \(others.joined(separator: ", ")) in \(files), but offers "
                        + "\(key.displayType) key \(key.fingerprint); --accept-new-host-keys adds keys only for hosts with none. "
                        + "Verify the new key out of band and add it by hand (ssh-keyscan, then edit known_hosts).")
            }
            if target.hostKeyPolicy == .acceptNew, let file = target.knownHostsFiles.first {
                do {
                    try KnownHosts.append(key, for: name, to: file)
                    hostKeyAdded = true
                    return nil
                } catch {
                    return core.error(
                        .hostKeyUnknown, .hostKey, message: "cannot add the key to \(Self.tilde(file)): \(error)")
                }
            }
            let also = others.isEmpty ? "" : " (known_hosts holds only \(others.joined(separator: ", ")) for it)"
            return core.error(
                .hostKeyUnknown, .hostKey,
                message: "host key unknown: \(name) offers \(key.displayType) key \(key.fingerprint), which is not "
                    + "in \(files.isEmpty ? "any known_hosts file" : files)\(also). Verify the fingerprint out of "
                    + "band, then add it (golive ping --accept-new-host-keys appends it).")
        }
    }

    private func authFailure(_ core: SessionCore) -> SSHError {
        if !unsupportedKeys.isEmpty && refusals.allSatisfy({ $0.contains("not supported") || $0.contains("agent") })
        {
            return core.error(
                .unsupportedKey, .authentication,
                message: "RSA keys cannot be used: libssh2 1.10 signs only with SHA-1 (ssh-rsa), which OpenSSH 8.8+ "
                    + "refuses; rsa-sha2 arrived in libssh2 1.11. Use an ed25519 or ECDSA key instead "
                    + "(\(unsupportedKeys.joined(separator: ", "))).")
        }
        let tried = refusals.isEmpty ? "no authentication method configured" : refusals.joined(separator: "; ")
        return core.error(
            .authenticationFailed, .authentication, message: "permission denied for user \(target.user): \(tried)")
    }

    private func succeed(_ core: SessionCore, method: String) -> OperationProgress {
        freeAgent()
        guard let session = core.session, let hostKey else { return .finished }
        let seconds = UInt32(max(1, target.keepaliveInterval.components.seconds))
        libssh2_keepalive_config(session, 0, seconds)
        core.keepaliveDue = ContinuousClock.now.advanced(by: target.keepaliveInterval)
        let address: String
        if case .tunnel(_, let via) = socket { address = "via \(via)" } else { address = connectedTo }
        result.succeed(
            SSHConnectionInfo(
                hostKey: hostKey, authMethod: method, connectedAddress: address, hostKeyAdded: hostKeyAdded,
                setupTime: started.duration(to: .now)))
        return .finished
    }

    private func finish(_ core: SessionCore, _ error: SSHError) -> OperationProgress {
        fail(error)
        core.markBroken(error)
        return .finished
    }

    private func freeAgent() {
        if let agent {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
            self.agent = nil
        }
    }

    static func tilde(_ path: String) -> String {
        let home = NSHomeDirectory()
        return path.hasPrefix(home + "/") ? "~" + path.dropFirst(home.count) : path
    }
}
