import Foundation

/// How a command reaches a shell: never in its arguments (a remote exec request becomes the login
/// shell's argument, and argv is visible to every local user in `ps`), but on its stdin. Remote
/// steps (over SSH) and local steps (on the controller) go the same way.
///
/// The exec request, or the local shell's `-c`, is always the same fixed bootstrap. It prints the shell's pid (its process
/// group: sshd starts each session in its own) on stderr, reads one line holding the script's
/// length in bytes, reads exactly that many bytes (`dd` with full blocks: never one byte more),
/// and evaluates them in the same shell. Whatever follows on stdin is the command's own stdin.
/// The same frame carries anything else that must not appear in argv (a password for `sudo`,
/// later): a length line, then the bytes.
public enum ShellBootstrap {
    /// What the bootstrap prints first on stderr, before the shell's pid.
    public static let pidMarker = "golive-pgid:"

    /// What each exec request runs (no secret in it, ever).
    public static let command =
        #"printf 'golive-pgid:%s\n' "$$" >&2; IFS= read -r __golive_n || exit 125; "#
        + #"__golive_s=$(dd bs="$__golive_n" count=1 iflag=fullblock 2>/dev/null; echo .) || exit 125; "#
        + #"__golive_s=${__golive_s%.}; unset __golive_n; eval "$__golive_s""#

    /// The channel's stdin for `command`: its length line, its bytes, then `stdin`.
    public static func input(command: String, stdin: Data?) -> Data {
        let script = Data(command.utf8)
        var data = Data("\(script.count)\n".utf8)
        data.append(script)
        if let stdin { data.append(stdin) }
        return data
    }
}
