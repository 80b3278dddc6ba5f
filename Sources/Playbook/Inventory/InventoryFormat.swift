/// Which language an inventory is written in.
public enum InventoryFormat: String, Sendable, Hashable {
    /// golive's own YAML (`environment:`, `defaults:`, `groups:`, `hosts:`, `secrets:`).
    case golive
    /// Ansible's: INI, YAML (`all:` / `children:` / `hosts:` / `vars:`) or a directory of them,
    /// with `group_vars/` and `host_vars/`.
    case ansible
}
