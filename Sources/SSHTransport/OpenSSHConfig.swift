import Foundation
import System

/// How values reach the system's `ssh`: as `-o Keyword=value` arguments (argv, never a shell line)
/// or lines of a config file golive writes (`-F`), both read by ssh's own config parser. A value is
/// written so that the parser reads back exactly it, or refused: a name that is not a plain host or
/// user name, a path with a quote or a line break.
enum OpenSSHConfig {
    /// Why a value cannot be handed to ssh.
    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// A host name or address as ssh's host argument or `HostName`: letters, digits, `.`, `-`, `_`, `:`
    /// (IPv6; not a `%` zone), never a leading `-`.
    static func host(_ value: String) throws(Refusal) -> String { try word(value, also: "._-:", as: "a host name") }

    /// A login name: letters, digits, `.`, `-`, `_`, `$` (a machine account), never a leading `-`.
    static func user(_ value: String) throws(Refusal) -> String { try word(value, also: "._-$", as: "a user name") }

    /// `value` when it is ASCII letters, digits and `also`, not empty, no leading `-`.
    private static func word(_ value: String, also: String, as what: String) throws(Refusal) -> String {
        guard !value.isEmpty, !value.hasPrefix("-"), value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || also.contains($0)) })
        else { throw Refusal(description: "'\(value)' cannot be passed to ssh as \(what)") }
        return value
    }

    /// A file path as one double-quoted config argument, `%` doubled (ssh expands tokens in paths). A
    /// `${` is refused: ssh would put an environment variable's value there, and has no escape for it.
    static func path(_ value: String) throws(Refusal) -> String {
        guard !value.contains(where: { $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\0" || $0 == "\\" }) else {
            throw Refusal(description: "the path '\(value)' cannot be passed to ssh (a quote, a backslash or a line break in it)")
        }
        guard !value.contains("${") else {
            throw Refusal(description: "the path '\(value)' cannot be passed to ssh: it would read '${...}' as an environment variable")
        }
        return "\"" + value.replacingOccurrences(of: "%", with: "%%") + "\""
    }

    /// `-o Keyword=value` pairs as arguments.
    static func arguments(_ options: [(String, String)]) -> [String] {
        options.flatMap { ["-o", "\($0.0)=\($0.1)"] }
    }

    /// Config file lines, one per option.
    static func lines(_ options: [(String, String)]) -> String {
        options.map { "\($0.0) \($0.1)\n" }.joined()
    }

    /// A `ProxyCommand` that reaches `host` through the jump host whose own config is `config`: the
    /// system's ssh with `-W` (ssh runs it with the user's shell: every part quoted for it, `%` doubled
    /// but in the `%h`/`%p` it fills in).
    static func proxyCommand(ssh: String, config: String, jumpHost: String) -> String {
        let quoted = [ssh, "-F", config].map { ShellQuote.quote($0).replacingOccurrences(of: "%", with: "%%") }
        return quoted.joined(separator: " ") + " -W '[%h]:%p' -- " + ShellQuote.quote(jumpHost)
    }
}
