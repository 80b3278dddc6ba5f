import Foundation
import Playbook
import System

/// The lock on a server: one directory per server, `${GOLIVE_LOCK_ROOT:-/var/tmp/golive}/lock`,
/// created atomically with `mkdir` by the run that holds it. It is keyed by the server itself —
/// not by the inventory's host name, the login user's home, the environment's name or the
/// transport's host key — so two controllers with any inventories or stores cannot change one
/// server at once. `/var/tmp` survives a reboot; any login user can create the root (mode 1777).
///
/// Inside: `info` (run, environment, operator, controller, pid, started), `token` (the fencing
/// token of the controller in charge) and `pg/` (one file per remote command in flight: its
/// process group and start time, written by the command's guard before the command runs).
enum HostLock {
    /// The lock directory, as the remote shell sees it.
    static let directory = "\"${GOLIVE_LOCK_ROOT:-/var/tmp/golive}/lock\""

    /// The exit status of a command refused because another controller holds the lock now.
    static let fencedStatus = 97
    /// The exit status of a command whose process group could not be recorded.
    static let unrecordedStatus = 96
    /// What a fenced command prints on stderr.
    static let fencedMarker = "golive: fenced:"

    /// Takes the lock for `runID` with `token`: prints `TAKEN`, `OURS` (the run already held it:
    /// the token is replaced first, then the commands of `stopping` still running are stopped,
    /// one `STOPPED|KILLED|GONE tag pgid` line each), `HELD` and the holder's info lines,
    /// `FENCED` (the run's lock carries a token of this generation or a later one that is not
    /// `token`: a later controller of the run took it over, and this one woke up late), or
    /// `FAILED` and the OS error. Only a token of a later generation replaces another.
    static func takeScript(runID: String, info: String, token: String, stopping tags: [String]) -> String {
        let stops = tags.map { ShellQuote.quote(fileName($0)) }.joined(separator: " ")
        return """
            umask 077; r="${GOLIVE_LOCK_ROOT:-/var/tmp/golive}"; l="$r/lock"
            if [ -L "$r" ]; then echo FAILED; echo "$r is a symbolic link"; exit 0; fi
            if [ -n "$(find "$r" -maxdepth 0 -perm -0002 ! -perm -1000 2>/dev/null)" ]; then
              echo FAILED; echo "$r is writable by every user without the sticky bit (anyone could remove or forge the lock): chmod +t it"; exit 0
            fi
            if [ ! -d "$r" ]; then
              e=$(mkdir -p -m 1777 -- "$r" 2>&1) || { echo FAILED; echo "cannot create $r: $e"; exit 0; }
            fi
            if e=$(mkdir -m 700 -- "$l" 2>&1); then
              mkdir -m 700 -- "$l/pg" && printf '%s\\n' \(ShellQuote.quote(info)) > "$l/info" && printf '%s\\n' \(ShellQuote.quote(token)) > "$l/token" \\
                || { echo FAILED; echo "cannot write into $l"; rm -rf -- "$l"; exit 0; }
              echo TAKEN
            elif grep -qx \(ShellQuote.quote("run=\(runID)")) "$l/info" 2>/dev/null; then
              t=; { read -r t < "$l/token"; } 2>/dev/null
              if [ "$t" != \(ShellQuote.quote(token)) ]; then
                g=${t%%-*}; case "$g" in ''|*[!0-9]*|??????????*) g=0;; esac
                if [ "$g" -ge \(StoreTokens.generation(of: token)) ]; then
                  echo FENCED; echo "a later controller of this run holds it (token generation $g)"; exit 0
                fi
                mkdir -p -m 700 -- "$l/pg"
                printf '%s\\n' \(ShellQuote.quote(token)) > "$l/token.new" && mv -f -- "$l/token.new" "$l/token" \\
                  || { echo FAILED; echo "cannot write $l/token"; exit 0; }
              fi
              echo OURS
            elif [ -d "$l" ]; then
              echo HELD; cat -- "$l/info" 2>/dev/null || echo "owner=$(stat -c %U -- "$l") (another login user: its info cannot be read)"
              exit 0
            else
              echo FAILED; echo "cannot create $l: $e"; exit 0
            fi
            \(stopScript(marker: { "\(fileName(runID))/$r/$\($0)" }, tags: stops))
            """
    }

    /// Stops the commands of `tags` (shell words) still running: each one's recorded process group
    /// (unless its leader's start time says the pid was reused), and every process that carries
    /// the command's marker in its environment — children that left the group (`setsid`, job
    /// control) included. TERM first, KILL after 5 s. One line each: `STOPPED|KILLED|GONE tag pgid`.
    static func stopScript(marker: (String) -> String, tags: String) -> String {
        """
        for t in \(tags); do
          f="$l/pg/$t"; pg=0; pids=""
          if [ -f "$f" ] && read -r pg st < "$f"; then
            if [ -r "/proc/$pg/stat" ] && read -r s < "/proc/$pg/stat"; then
              set -- $s
              if [ $# -ge 22 ]; then shift 21; [ "$1" = "$st" ] || pg=0; fi
            fi
          fi
          for e in $(grep -lzxF -e "GOLIVE_STEP=\(marker("t"))" /proc/[0-9]*/environ 2>/dev/null); do p=${e#/proc/}; pids="$pids ${p%/environ}"; done
                  alive() {
            if [ "$pg" != 0 ] && kill -0 -- "-$pg" 2>/dev/null; then return 0; fi
            for p in $pids; do if kill -0 "$p" 2>/dev/null; then return 0; fi; done
            return 1
          }
          # What is left of the group that this user may not signal runs as another user (an
          # escalated step): its record stays for the stop made through the escalation.
          foreign() { [ "$pg" != 0 ] && pgrep -g "$pg" >/dev/null 2>&1; }
          if ! alive; then
            if foreign; then echo "FOREIGN $t $pg"; continue; fi
            rm -f -- "$f"; [ "$pg" != 0 ] && echo "GONE $t $pg"; continue
          fi
          [ "$pg" != 0 ] && kill -TERM -- "-$pg" 2>/dev/null; for p in $pids; do kill -TERM "$p" 2>/dev/null; done
          i=0; while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
          how=STOPPED
          if alive; then
            [ "$pg" != 0 ] && kill -KILL -- "-$pg" 2>/dev/null; for p in $pids; do kill -KILL "$p" 2>/dev/null; done
            how=KILLED; i=0; while alive && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
          fi
          if foreign; then echo "FOREIGN $t $pg"; continue; fi
          echo "$how $t ${pg}"
          rm -f -- "$f"
        done
        """
    }

    /// Stops the commands of `tags` of `runID` from an escalated shell (whose `GOLIVE_LOCK_ROOT` the
    /// escalation passed on): what runs as another user than the login's can only be stopped as that user.
    static func escalatedStopScript(runID: String, tags: [String]) -> String {
        let stops = tags.map { ShellQuote.quote(fileName($0)) }.joined(separator: " ")
        return """
            r="${GOLIVE_LOCK_ROOT:-/var/tmp/golive}"; l="$r/lock"
            \(stopScript(marker: { "\(fileName(runID))/$r/$\($0)" }, tags: stops))
            """
    }

    /// Releases the lock if `runID` holds it with `token`: the lock of a later controller of the
    /// same run (a takeover) is not this one's to remove.
    static func releaseScript(runID: String, token: String) -> String {
        "l=\(directory); t=; { read -r t < \"$l/token\"; } 2>/dev/null; "
            + "[ \"$t\" = \(ShellQuote.quote(token)) ] && grep -qx \(ShellQuote.quote("run=\(runID)")) \"$l/info\" 2>/dev/null && rm -rf -- \"$l\"; true"
    }

    /// Prints the token the server's lock carries, or `none` when there is no lock.
    static func tokenScript() -> String {
        "l=\(directory); if [ -d \"$l\" ]; then t=; { read -r t < \"$l/token\"; } 2>/dev/null; printf '%s\\n' \"${t:-none}\"; else echo none; fi"
    }

    /// Removes the lock whoever holds it, after stopping every command its holder still runs (the
    /// recorded ones, and every process carrying its run's marker): a later run must never share the
    /// server with them. Prints the lock's first info line (or `none`), then a line per command stopped.
    static func forceReleaseScript() -> String {
        """
        r="${GOLIVE_LOCK_ROOT:-/var/tmp/golive}"; l="$r/lock"
        if [ ! -d "$l" ]; then echo none; exit 0; fi
        head -1 -- "$l/info" 2>/dev/null || echo unreadable
        run=$(sed -n 's/^run=//p' "$l/info" 2>/dev/null | head -1)
        tags=$(ls -A -- "$l/pg" 2>/dev/null)
        for e in $(grep -lzF -e "GOLIVE_STEP=$run/$r/" /proc/[0-9]*/environ 2>/dev/null); do
          t=$(tr '\\0' '\\n' < "$e" 2>/dev/null | grep -F "GOLIVE_STEP=$run/$r/" | head -1); t=${t##*/}
          case " $tags " in *" $t "*) ;; *) [ -n "$t" ] && tags="$tags $t";; esac
        done
        \(stopScript(marker: { _ in "$run/$r/$t" }, tags: "$tags"))
        e=$(rm -rf -- "$l" 2>&1)
        if [ -e "$l" ]; then echo "NOT-REMOVED owner $(stat -c %U -- "$l" 2>/dev/null): $(printf '%s' "$e" | head -1)"; fi
        """
    }

    /// A remote command behind its guard: it is marked in its environment (`GOLIVE_STEP=RUN/ROOT/TAG`,
    /// ROOT being the server's lock root,
    /// inherited by every child, those that leave its process group included), and its process group
    /// (and its start time, so a reused pid is told apart) is recorded under `pg/TAG` before anything else, then the host's
    /// token is checked — a command of a controller that no longer holds the lock exits
    /// ``fencedStatus`` without running — and the record is removed when the command ends.
    static func guarded(_ command: String, tag: String, token: String, runID: String) -> String {
        let file = ShellQuote.quote(fileName(tag))
        return """
            GOLIVE_STEP=\(fileName(runID))/"${GOLIVE_LOCK_ROOT:-/var/tmp/golive}"/\(fileName(tag)); export GOLIVE_STEP
            __golive_g=\(directory)/pg/\(file)
            __golive_st=; if { read -r __golive_s < /proc/$$/stat; } 2>/dev/null; then set -- $__golive_s; if [ $# -ge 22 ]; then shift 21; __golive_st=$1; fi; fi
            printf '%s %s\\n' "$$" "$__golive_st" > "$__golive_g" || { echo 'golive: cannot record this command under '"$__golive_g" >&2; exit \(unrecordedStatus); }
            { read -r __golive_t < \(directory)/token; } 2>/dev/null
            if [ "${__golive_t:-}" != \(ShellQuote.quote(token)) ]; then rm -f -- "$__golive_g"; echo '\(fencedMarker) another controller holds the lock on this host now' >&2; exit \(fencedStatus); fi
            trap 'rm -f -- "$__golive_g"' EXIT; trap 'rm -f -- "$__golive_g"; exit 143' TERM; trap 'rm -f -- "$__golive_g"; exit 129' HUP; trap 'rm -f -- "$__golive_g"; exit 130' INT
            unset __golive_s __golive_st __golive_t; set --
            \(command)
            """
    }

    /// A tag as a file name: letters, digits, `.`, `-` and `_` only.
    static func fileName(_ tag: String) -> String {
        String(tag.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "." })
    }

    /// The tag of a step's attempt (`deploy.2..1`).
    /// A delegated step's tag names the host it runs for too: on the host it is delegated to, every
    /// host's attempt of the step has its own record.
    static func tag(step: String, attempt: Int, for host: String? = nil) -> String {
        "\(step).\(attempt)" + (host.map { ".for.\($0)" } ?? "")
    }

    /// The commands a take script stopped: its `STOPPED|KILLED|GONE tag pgid` lines, each as its
    /// status word, tag, process group and how it was stopped.
    static func stopped(_ lines: some Sequence<String>) -> [(status: String, tag: String, group: String, how: String)] {
        lines.compactMap { line in
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 3 else { return nil }
            let how =
                switch words[0] {
                case "KILLED": "killed (KILL after TERM)"
                case "STOPPED": "stopped (TERM)"
                case "FOREIGN": "runs on as another user (left to the stop through the escalation)"
                default: "already gone"
                }
            return (words[0].lowercased(), words[1], words[2], how)
        }
    }

    /// The tag of a rollback action's attempt.
    static func tag(undoing step: String, attempt: Int, for host: String? = nil) -> String {
        "undo.\(step).\(attempt)" + (host.map { ".for.\($0)" } ?? "")
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
