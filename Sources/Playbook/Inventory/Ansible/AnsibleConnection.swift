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
    /// Where the host's jump was set, for the errors about it.
    private(set) var jumpLocation: (key: String, location: SourceLocation)?
    /// The ssh options the host's arguments set already: as for ssh, the first value wins.
    private var optionsSet = Set<String>()

    init(host: String, environment: [String: String], requireSecrets: Bool) {
        self.host = host
        self.environment = environment
        self.requireSecrets = requireSecrets
    }

    /// Ansible's names for the become password, the login password and the key's passphrase.
    static let becomePasswordKeys: Set = [
        "ansible_become_password", "ansible_become_pass", "ansible_sudo_pass", "ansible_sudo_password", "ansible_su_pass",
        "ansible_su_password",
    ]
    static let loginPasswordKeys: Set = ["ansible_password", "ansible_ssh_pass", "ansible_ssh_password"]
    static let passphraseKeys: Set = ["ansible_ssh_private_key_passphrase", "ansible_private_key_passphrase"]

    /// A variable that holds a password: those above, and any `ansible_*_pass`, `_password` or
    /// `_passphrase` (another plugin's: `ansible_winrm_password`, `ansible_httpapi_pass`, ...).
    static func isPassword(_ key: String) -> Bool {
        becomePasswordKeys.contains(key) || loginPasswordKeys.contains(key) || passphraseKeys.contains(key)
            || (key.hasPrefix("ansible_") && (key.hasSuffix("_pass") || key.hasSuffix("_password") || key.hasSuffix("_passphrase")))
    }

    /// A variable whose name says it holds a secret (`db_password`, `api_token`, `deploy_secret`).
    static func looksSecret(_ key: String) -> Bool {
        let name = key.lowercased()
        return ["password", "passwd", "_pass", "passphrase", "secret", "_token", "api_key", "apikey"].contains { name.hasSuffix($0) }
    }

    /// The ssh options golive maps (others in `ansible_ssh_*_args` are refused).
    static let sshOptions: Set = ["proxyjump", "userknownhostsfile", "connecttimeout", "port", "user", "identityfile"]
    /// ssh options that golive's own connection handling makes moot (ignored with a warning).
    static let mootOptions: Set = ["controlmaster", "controlpersist", "controlpath", "serveraliveinterval", "serveralivecountmax"]

    /// Applies one resolved variable to `resolved`; returns the value templates see.
    mutating func apply(_ key: String, _ variable: AnsibleInventory.Variable, to resolved: inout InventoryHost) -> Value {
        var value = variable.value
        var text = value.text(revealingSecrets: false)
        func refuse(_ message: String, hint: String? = nil) {
            diagnostics.append(PlaybookError(.invalidValue(message), at: variable.location, keyPath: key, hint: hint))
        }
        func warn(_ message: String, hint: String? = nil) {
            diagnostics.append(PlaybookError(.invalidValue(message), at: variable.location, keyPath: key, hint: hint, severity: .warning))
        }
        // A connection setting read from the environment (`ansible_user: "{{ lookup('env', 'USER') }}"`)
        // is that variable's value, not a secret.
        if key.hasPrefix("ansible_"), !Self.isPassword(key), let name = Self.environmentLookup(text) {
            guard let read = environment[name] else {
                diagnostics.append(
                    PlaybookError(
                        .invalidValue("\(key) reads the environment variable \(name), which is not set"), at: variable.location, keyPath: key,
                        hint: "export \(name) before running", severity: requireSecrets ? .error : .warning))
                return value
            }
            value = .string(read)
            text = read
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
        case "ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_args":
            let jump = resolved.ssh.proxyJump
            defer { if resolved.ssh.proxyJump != jump { jumpLocation = (key, variable.location) } }
            var problems: [(String, String?, Bool)] = []
            sshArguments(text, key: key, to: &resolved, refuse: { problems.append(($0, $1, false)) }, warn: { problems.append(($0, nil, true)) })
            for (message, hint, warning) in problems { if warning { warn(message, hint: hint) } else { refuse(message, hint: hint) } }
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
            case "ssh", "smart", "ansible.builtin.ssh": resolved.ssh.connection = .ssh
            case "paramiko", "paramiko_ssh", "ansible.builtin.paramiko_ssh", "community.general.paramiko_ssh":
                resolved.ssh.connection = .ssh
                warn("\(text) is Ansible's other SSH client: golive connects with its own (libssh2, or OpenSSH where needed)")
            case "local", "ansible.builtin.local": resolved.ssh.connection = .local
            default:
                refuse(
                    "ansible_connection '\(text)' is not one golive makes (ssh, or local for the controller)",
                    hint: "golive reaches hosts over SSH; a container or a Windows host needs its own tool")
            }
        case "ansible_ssh_executable":
            refuse(
                "\(key): golive runs the system's ssh itself where it needs OpenSSH (or libssh2)",
                hint: "drop it; golive_transport: openssh makes a host use OpenSSH")
        case "ansible_shell_type" where !["sh", "bash", "zsh", "dash", "ksh"].contains(text):
            refuse("\(key) '\(text)': golive's commands are POSIX shell, run by the login's shell")
        case "ansible_shell_executable" where text != "/bin/sh":
            refuse("\(key) '\(text)': golive's commands run in /bin/sh (through the login's shell)")
        case "ansible_become_exe", "ansible_become_flags", "ansible_sudo_exe", "ansible_sudo_flags", "ansible_su_exe", "ansible_su_flags":
            refuse("\(key): golive runs sudo, su and doas with flags of its own (the password on stdin, never in argv)")
        case "ansible_sftp_extra_args", "ansible_scp_extra_args", "ansible_ssh_transfer_method", "ansible_scp_if_ssh":
            warn("\(key) is ignored: golive sends files over its own connection, not with sftp or scp")
        case "golive_transport":
            if let choice = TransportChoice(rawValue: text) { resolved.ssh.transport = choice } else { refuse("golive_transport '\(text)' is not libssh2, openssh or auto") }
        case "ansible_host_key_checking", "ansible_ssh_host_key_checking":
            if Self.boolean(value) == false {
                warn("golive always checks host keys; \(key): \(text) is ignored", hint: "add the hosts' keys once with `golive ping --accept-new-host-keys`")
            }
        default:
            break
        }
        if Self.isPassword(key) { return password(key, variable, to: &resolved) }
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
        if !key.hasPrefix("ansible_"), Self.looksSecret(key), case .string(let plain) = value, plain.count >= Secret.minimumLength,
            !plain.contains("{{")
        {
            // `db_password: hunter2`: by its name a secret, kept as one (never shown), with a warning.
            warn(
                "'\(key)' looks like a secret written in plain text in \(variable.location.file) (line \(variable.location.line)); golive keeps it as one and never shows it",
                hint: "keep it out of files: \(key): \"{{ lookup('env', 'VARIABLE') }}\" reads it from the environment")
            secrets["\(key)@\(variable.location)"] = SecretSource(environmentVariable: nil, value: Secret(plain), location: variable.location)
            return .secret(Secret(plain))
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
        if Self.becomePasswordKeys.contains(key) {
            resolved.ssh.become.passwordSecret = name
        } else if Self.passphraseKeys.contains(key) {
            resolved.ssh.passphraseSecret = name
        } else if Self.loginPasswordKeys.contains(key) {
            resolved.ssh.passwordSecret = name
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
    private mutating func sshArguments(
        _ text: String, key: String, to resolved: inout InventoryHost, refuse: (String, String?) -> Void, warn: (String) -> Void
    ) {
        let words: [String]
        do {
            words = try ShellWords.split(text).map(\.text)
        } catch {
            refuse("\(error)", nil)
            return
        }
        let hint = "set it in ~/.ssh/config for the host instead: golive honours ssh_config (through OpenSSH where needed)"
        var jumpFlags = 0
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
                guard let hop = argument("-J") else { return refuse("-J needs a jump host", nil) }
                if jumpFlags > 0 { return refuse("ssh takes one -J (several hops are one list: -J a,b)", nil) }
                jumpFlags += 1
                if optionsSet.insert("proxyjump").inserted { setJump(hop, resolved: &resolved, refuse: refuse) }
            } else if word.hasPrefix("-o") {
                guard let option = argument("-o") else { return refuse("-o needs an option", nil) }
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
                let keyword = name.lowercased()
                if Self.sshOptions.contains(keyword), !optionsSet.insert(keyword).inserted { continue }
                switch keyword {
                case "proxyjump": setJump(value, resolved: &resolved, refuse: refuse)
                case "userknownhostsfile":
                    let files = (try? ShellWords.split(value).map(\.text)) ?? [value]
                    if files.count == 1, let file = files.first {
                        resolved.ssh.knownHosts = Self.absolute(file)
                    } else {
                        refuse("UserKnownHostsFile names \(files.count) files; golive takes one here", "set several in ~/.ssh/config instead")
                    }
                case "connecttimeout":
                    if let seconds = Int(value), seconds > 0 { resolved.ssh.connectTimeout = .seconds(seconds) } else { refuse("ConnectTimeout '\(value)' is not a number of seconds", nil) }
                case "port":
                    if let port = Int(value), (1...65535).contains(port) { resolved.ssh.port = resolved.ssh.port ?? port } else { refuse("Port '\(value)' is not a port", nil) }
                case "user": resolved.ssh.user = resolved.ssh.user ?? value
                case "identityfile": resolved.ssh.identity = resolved.ssh.identity ?? Self.absolute(value)
                case "stricthostkeychecking" where ["no", "off", "false"].contains(value.lowercased()):
                    refuse(
                        "StrictHostKeyChecking=\(value) is refused: golive always verifies host keys",
                        "add the hosts' keys once with `golive ping --accept-new-host-keys`, then drop the option")
                case let other where Self.mootOptions.contains(other):
                    warn("\(name) is ignored: golive keeps one connection per host itself")
                default:
                    refuse("the ssh option \(name) is not one golive maps (ProxyJump, UserKnownHostsFile, ConnectTimeout)", hint)
                }
            } else {
                refuse("'\(word)' is not an ssh argument golive maps (-J HOP, -o ProxyJump=HOP)", hint)
                return
            }
        }
    }

    private func setJump(_ hop: String, resolved: inout InventoryHost, refuse: (String, String?) -> Void) {
        guard !hop.isEmpty else { return refuse("ProxyJump is empty (write none for no jump)", nil) }
        guard hop.lowercased() != "none" else { return }
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
