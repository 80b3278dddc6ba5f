/// Which SSH implementation connects to a host (`transport:` in the inventory).
public enum TransportChoice: String, Sendable, Hashable, CaseIterable {
    /// The embedded libssh2 client: the fastest, for ed25519 and ECDSA keys, agents and passwords.
    case libssh2
    /// The system's OpenSSH client (`ssh`) through one ControlMaster per host: every login OpenSSH can make.
    case openssh
    /// libssh2, unless the host needs what only OpenSSH can do (an RSA key, a certificate, `Match`, ...).
    case auto
}
