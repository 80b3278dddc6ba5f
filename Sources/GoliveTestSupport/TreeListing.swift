import Playbook
import Sandbox
import System

/// Every entry under `path` with its type, mode and link target, and every file's SHA-256: two
/// trees are the same exactly when their listings are (tests compare hosts' files, not golive's words).
public func treeListing(_ path: String) throws -> String {
    try HostTools.sh(
        "cd \(ShellQuote.quote(path)) && find . -printf '%P %y %m %l\\n' | sort && find . -type f -exec sha256sum {} + | sort")
}
