/// How golive reaches a host (`connection:` in golive's inventory, `ansible_connection` in Ansible's).
public enum ConnectionType: String, Sendable, Hashable, CaseIterable {
    /// Over SSH (the default).
    case ssh
    /// The controller itself, with no SSH: the host's commands run on the machine golive runs on.
    case local
}
