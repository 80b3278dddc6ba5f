import Foundation
import System

/// Ansible's connection variables mapped onto golive's settings for one host: `ansible_host`,
/// `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`, `ansible_ssh_common_args` and
/// `ansible_ssh_extra_args` (`-J`, `-o ProxyJump=`, a few more), `ansible_become*`, passwords (a
/// plain-text one is used with a warning), `ansible_connection` (`ssh`, or `local`: the controller,
/// with no SSH). Any variable that is exactly `{{ lookup('env', 'NAME') }}` is a secret read from
/// the environment.
struct AnsibleConnection {
    let host: String
    let environment: [String: String]
    let requireSecrets: Bool
    private(set) var secrets: [String: SecretSource] = [:]
    private(set) var diagnostics: [PlaybookError] = []

    init(host: String, environment: [String: String], requireSecrets: Bool) {
        self.host = host
        self.environment = environment
        self.requireSecrets = requireSecrets
    }

    static let passwordKeys: Set = [
        "ansible_become_password", "ansible_become_pass", "ansible_password", "ansible_ssh_pass", "ansible_ssh_password",
        "ansible_sudo_pass", "ansible_ssh_private_key_passphrase",
    ]

    /// The ssh options golive maps (others in `ansible_ssh_*_args` are refused).
    static let sshOptions: Set = ["proxyjump", "userknownhostsfile", "connecttimeout", "port", "user", "identityfile"]
    /// ssh options that golive's own connection handling makes moot (ignored with a warning).
    static let mootOptions: Set = ["controlmaster", "controlpersist", "controlpath", "serveraliveinterval", "serveralivecountmax"]

    /// Applies one resolved variable to `resolved`; returns the value templates see.
    mutating func apply(_ key: String, _ variable: AnsibleInventory.Variable, to resolved: inout InventoryHost) -> Value {
        let value = variable.value
        let text = value.text(revealingSecrets: false)
        func refuse(_ message: String, hint: String? = nil) {
            diagnostics.append(PlaybookError(.invalidValue(message), at: variable.location, keyPath: key, hint: hint))
        }
        func warn(_ message: String, hint: String? = nil) {
            diagnostics.append(PlaybookError(.invalidValue(message), at: variable.location, keyPath: key, hint: hint, severity: .warning))
        }
        switch key {
        case "ansible_host", "ansible_ssh_host":
            if text.isEmpty || text.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" }) {
                refuse("\(key) '\(text)' is not a host name or IP address")
            } else {
                resolved.address = text
                resolved.addressGiven = true
            }
        case "ansible_port", "ansible_ssh_port":
            if let port = Int(text), (1...65535).contains(port) { resolved.ssh.port = port } else { refuse("\(key) '\(text)' is not a port (1-65535)") }
        case "ansible_user", "ansible_ssh_user":
            if text.isEmpty { refuse("\(key) is empty") } else { resolved.ssh.user = text }
        case "ansible_ssh_private_key_file", "ansible_private_key_file":
            if text.isEmpty { refuse("\(key) is empty") } else { resolved.ssh.identity = Self.absolute(text) }
        case "ansible_ssh_common_args", "ansible_ssh_extra_args":
            sshArguments(text, key: key, to: &resolved, refuse: { refuse($0, hint: $1) }, warn: { warn($0, hint: nil) })
        case "ansible_ssh_timeout", "ansible_timeout":
            if let seconds = Int(text), seconds > 0 { resolved.ssh.connectTimeout = .seconds(seconds) } else { refuse("\(key) '\(text)' is not a number of seconds") }
        case "ansible_become", "ansible_sudo":
            if let flag = Self.boolean(value) { resolved.ssh.become.enabled = flag } else { refuse("\(key) '\(text)' is not true or false") }
            resolved.ssh.become.location = resolved.ssh.become.location ?? variable.location
        case "ansible_become_user", "ansible_sudo_user":
            if BecomeSettings.validUser(text) { resolved.ssh.become.user = text } else { refuse("\(key) '\(text)' is not a user name") }
        case "ansible_become_method":
            if let method = Escalation.Method(rawValue: text) {
                resolved.ssh.become.method = method
                resolved.ssh.become.location = resolved.ssh.become.location ?? variable.location
            } else {
                refuse("become method '\(text)' is not one golive runs (sudo, su, doas)")
            }
        case "ansible_connection":
            switch text {
            case "ssh", "smart", "paramiko", "paramiko_ssh": resolved.ssh.connection = .ssh
            case "local": resolved.ssh.connection = .local
            default:
                refuse(
                    "ansible_connection '\(text)' is not one golive makes (ssh, or local for the controller)",
                    hint: "golive reaches hosts over SSH; a container or a Windows host needs its own tool")
            }
        case "golive_transport":
            if let choice = TransportChoice(rawValue: text) { resolved.ssh.transport = choice } else { refuse("golive_transport '\(text)' is not libssh2, openssh or auto") }
        case "ansible_host_key_checking", "ansible_ssh_host_key_checking":
            if Self.boolean(value) == false {
                warn("golive always checks host keys; \(key): \(text) is ignored", hint: "add the hosts' keys once with `golive ping --accept-new-host-keys`")
            }
        default:
            break
        }
        if Self.passwordKeys.contains(key) { return password(key, variable, to: &resolved) }
        if let environmentVariable = Self.environmentLookup(text) {
            // `{{ lookup('env', 'NAME') }}`, as Ansible users keep secrets out of files: a secret
            // read from the environment, never shown.
            let (source, problems) = SecretSource.fromEnvironment(
                name: key, variable: environmentVariable, environment: environment, requireSecrets: requireSecrets, at: variable.location,
                keyPath: key)
            diagnostics += problems
            secrets["\(key)@\(variable.location)"] = source
            return .secret(source.value ?? Secret(""))
        }
        if case .string(let string) = value, string.contains("{{") || string.contains("{%") {
            warn("'\(key)' holds a Jinja expression, which golive does not evaluate in inventory variables: it is used as written")
        }
        return value
    }

    /// A password variable: a secret, from the environment (`{{ lookup('env', 'NAME') }}`) or, with a
    /// warning, as written. Templates see it as `••••`.
    private mutating func password(_ key: String, _ variable: AnsibleInventory.Variable, to resolved: inout InventoryHost) -> Value {
        let text = variable.value.text(revealingSecrets: false)
        let name = "\(key)@\(variable.location)"
        var source: SecretSource
        if let environmentVariable = Self.environmentLookup(text) {
            let (read, problems) = SecretSource.fromEnvironment(
                name: key, variable: environmentVariable, environment: environment, requireSecrets: requireSecrets, at: variable.location,
                keyPath: key)
            source = read
            diagnostics += problems
        } else {
            source = SecretSource(environmentVariable: nil, value: Secret(text), location: variable.location)
            diagnostics.append(
                PlaybookError(
                    .invalidValue("\(key) is written in plain text in \(variable.location.file) (line \(variable.location.line)); golive uses it but never shows it"),
                    at: variable.location, keyPath: key,
                    hint: "keep passwords out of files: \(key): \"{{ lookup('env', 'PASSWORD_VARIABLE') }}\" reads it from the environment",
                    severity: .warning))
            if text.count < Secret.minimumLength {
                diagnostics.append(
                    PlaybookError(
                        .invalidValue("\(key) is \(text.count) character\(text.count == 1 ? "" : "s") long; secrets must have at least \(Secret.minimumLength), so that they can be redacted everywhere"),
                        at: variable.location, keyPath: key))
            }
        }
        source.location = variable.location
        secrets[name] = source
        switch key {
        case "ansible_become_password", "ansible_become_pass", "ansible_sudo_pass": resolved.ssh.become.passwordSecret = name
        case "ansible_ssh_private_key_passphrase": resolved.ssh.passphraseSecret = name
        default: resolved.ssh.passwordSecret = name
        }
        return .secret(source.value ?? Secret(""))
    }

    /// `NAME` of a value that is exactly `{{ lookup('env', 'NAME') }}`.
    static func environmentLookup(_ text: String) -> String? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        func take(_ token: String) -> Bool {
            rest = rest.drop { $0 == " " }
            guard rest.hasPrefix(token) else { return false }
            rest = rest.dropFirst(token.count)
            return true
        }
        guard take("{{"), take("lookup"), take("(") else { return nil }
        rest = rest.drop { $0 == " " }
        guard let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
        guard take("\(quote)env\(quote)"), take(",") else { return nil }
        rest = rest.drop { $0 == " " }
        guard let open = rest.first, open == "'" || open == "\"" else { return nil }
        rest = rest.dropFirst()
        let name = rest.prefix { $0 != open }
        rest = rest.dropFirst(name.count)
        guard take(String(open)), take(")"), take("}}"), rest.allSatisfy({ $0 == " " }) else { return nil }
        guard let first = name.first, first == "_" || first.isLetter,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else { return nil }
        return String(name)
    }

    /// `ansible_ssh_common_args` / `ansible_ssh_extra_args`: `-J HOP`, `-o Key=Value` for the
    /// options golive maps; anything else is refused (it would be silently dropped otherwise).
    private func sshArguments(
        _ text: String, key: String, to resolved: inout InventoryHost, refuse: (String, String?) -> Void, warn: (String) -> Void
    ) {
        let words: [String]
        do {
            words = try ShellWords.split(text).map(\.text)
        } catch {
            refuse("\(key): \(error)", nil)
            return
        }
        let hint = "set it in ~/.ssh/config for the host instead: golive honours ssh_config (through OpenSSH where needed)"
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            func argument(_ flag: String) -> String? {
                if word.count > flag.count { return String(word.dropFirst(flag.count)) }
                guard index < words.count else { return nil }
                index += 1
                return words[index - 1]
            }
            if word.hasPrefix("-J") {
                guard let hop = argument("-J") else { return refuse("\(key): -J needs a jump host", nil) }
                setJump(hop, resolved: &resolved, refuse: refuse)
            } else if word.hasPrefix("-o") {
                guard let option = argument("-o") else { return refuse("\(key): -o needs an option", nil) }
                var name = option
                var value = ""
                if let equals = option.firstIndex(of: "=") {
                    name = String(option[..<equals])
                    value = String(option[option.index(after: equals)...])
                } else if let space = option.firstIndex(where: { $0 == " " || $0 == "\t" }) {
                    name = String(option[..<space])
                    value = option[space...].trimmingCharacters(in: .whitespaces)
                } else if index < words.count, !words[index].hasPrefix("-") {
                    value = words[index]
                    index += 1
                }
                name = name.trimmingCharacters(in: .whitespaces)
                value = value.trimmingCharacters(in: .whitespaces)
                switch name.lowercased() {
                case "proxyjump": setJump(value, resolved: &resolved, refuse: refuse)
                case "userknownhostsfile": resolved.ssh.knownHosts = Self.absolute(value)
                case "connecttimeout":
                    if let seconds = Int(value), seconds > 0 { resolved.ssh.connectTimeout = .seconds(seconds) } else { refuse("\(key): ConnectTimeout '\(value)' is not a number of seconds", nil) }
                case "port":
                    if let port = Int(value), (1...65535).contains(port) { resolved.ssh.port = resolved.ssh.port ?? port } else { refuse("\(key): Port '\(value)' is not a port", nil) }
                case "user": resolved.ssh.user = resolved.ssh.user ?? value
                case "identityfile": resolved.ssh.identity = resolved.ssh.identity ?? Self.absolute(value)
                case "stricthostkeychecking" where ["no", "off", "false"].contains(value.lowercased()):
                    refuse(
                        "\(key): StrictHostKeyChecking=\(value) is refused: golive always verifies host keys",
                        "add the hosts' keys once with `golive ping --accept-new-host-keys`, then drop the option")
                case let other where Self.mootOptions.contains(other):
                    warn("\(key): \(name) is ignored: golive keeps one connection per host itself")
                default:
                    refuse("\(key): the ssh option \(name) is not one golive maps (ProxyJump, UserKnownHostsFile, ConnectTimeout)", hint)
                }
            } else {
                refuse("\(key): '\(word)' is not an ssh argument golive maps (-J HOP, -o ProxyJump=HOP)", hint)
                return
            }
        }
    }

    private func setJump(_ hop: String, resolved: inout InventoryHost, refuse: (String, String?) -> Void) {
        guard !hop.isEmpty, hop.lowercased() != "none" else { return }
        let allowed = hop.allSatisfy { $0.isLetter || $0.isNumber || "._-@:,[]".contains($0) }
        guard allowed, !hop.hasPrefix("-") else { return refuse("'\(hop)' is not a jump host ([user@]host[:port])", nil) }
        resolved.ssh.proxyJump = hop
    }

    /// Ansible's truth for `ansible_become`: true/yes/on/1 and false/no/off/0, any case.
    static func boolean(_ value: Value) -> Bool? {
        switch value {
        case .bool(let flag): return flag
        case .int(let number): return number == 1 ? true : number == 0 ? false : nil
        case .string(let text):
            switch text.lowercased() {
            case "true", "yes", "on", "1", "y", "t": return true
            case "false", "no", "off", "0", "n", "f": return false
            default: return nil
            }
        default: return nil
        }
    }

    /// A path as ssh would take it from the command line: `~` is home, a relative one is relative
    /// to the working directory.
    static func absolute(_ path: String) -> String {
        if path == "~" || path.hasPrefix("~/") || path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardizedFileURL.path
    }
}
