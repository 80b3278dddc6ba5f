import Foundation
import Playbook

/// The environment's lock on a host: a directory created atomically with `mkdir` under the login
/// user's `~/.golive/locks`, holding the holder's run id, operator, controller and pid. It keeps
/// two controllers with two stores off the same servers.
enum HostLock {
    /// The lock directory's path, as a shell word (`$HOME` expanded by the remote shell).
    static func path(environment: String, host: String) -> String {
        "\"$HOME\"/.golive/locks/" + ShellQuoting.quote("\(environment)@\(host)")
    }

    /// Takes the lock for `runID`; prints `TAKEN`, `OURS`, or `HELD` and the holder's info lines.
    static func takeScript(environment: String, host: String, runID: String, info: String) -> String {
        """
        mkdir -p -m 700 "$HOME/.golive" "$HOME/.golive/locks" && l=\(path(environment: environment, host: host))
        if mkdir -m 700 "$l" 2>/dev/null; then printf '%s\\n' \(ShellQuoting.quote(info)) > "$l/info"; echo TAKEN
        elif grep -qx \(ShellQuoting.quote("run=\(runID)")) "$l/info" 2>/dev/null; then echo OURS
        else echo HELD; cat "$l/info" 2>/dev/null; fi
        """
    }

    /// Releases the lock if `runID` holds it.
    static func releaseScript(environment: String, host: String, runID: String) -> String {
        "l=\(path(environment: environment, host: host)); grep -qx \(ShellQuoting.quote("run=\(runID)")) \"$l/info\" 2>/dev/null && rm -rf \"$l\"; true"
    }

    /// Removes the lock whoever holds it; prints its first info line, or `none`.
    static func forceReleaseScript(environment: String, host: String) -> String {
        "l=\(path(environment: environment, host: host)); if [ -d \"$l\" ]; then cat \"$l/info\" | head -1; rm -rf \"$l\"; else echo none; fi"
    }

    /// The holder's fields (`run`, `operator`, `controller`, `pid`, `started`) from its info lines.
    static func fields(_ lines: some Sequence<String>) -> [String: String] {
        Dictionary(
            lines.compactMap { line -> (String, String)? in
                guard let equals = line.firstIndex(of: "=") else { return nil }
                return (String(line[..<equals]), String(line[line.index(after: equals)...]))
            }, uniquingKeysWith: { first, _ in first })
    }
}
