import Playbook

/// The shell scripts behind `archive` backups and their restores. Both are idempotent.
enum ArchiveScripts {
    /// Archives `path` into `archive` (tar.gz keeping modes, owners and symlinks), written under a
    /// temporary name, synced, then renamed. Prints `sha256 bytes existed`.
    static func create(path: String, archive: String) -> String {
        let p = ShellQuoting.quote(path), a = ShellQuoting.quote(archive)
        return """
            set -e; p=\(p); a=\(a)
            case "$p" in ""|/|*/..|*/../*|../*) echo "refusing to archive '$p'" >&2; exit 2;; esac
            mkdir -p "$(dirname "$a")"
            trap 'rm -f "$a.partial"' EXIT; trap 'exit 143' TERM INT
            if [ -e "$p" ] || [ -L "$p" ]; then
              tar -C "$(dirname "$p")" -czpf "$a.partial" "$(basename "$p")"; existed=1
            else
              tar -czf "$a.partial" -T /dev/null; existed=0
            fi
            sync "$a.partial" 2>/dev/null || sync
            mv -f "$a.partial" "$a"
            echo "$(sha256sum "$a" | cut -d' ' -f1) $(stat -c %s "$a") $existed"
            """
    }

    /// Restores `path` from `archive` exactly: the current tree is removed (so files added since go
    /// away) and the archived one extracted with modes, owners and symlinks. Entries that would land
    /// outside `path` are refused before anything is removed.
    static func restore(path: String, archive: String) -> String {
        let p = ShellQuoting.quote(path), a = ShellQuoting.quote(archive)
        return """
            set -e; p=\(p); a=\(a)
            case "$p" in ""|/|*/..|*/../*|../*) echo "refusing to restore '$p'" >&2; exit 2;; esac
            test -f "$a" || { echo "backup $a is missing" >&2; exit 1; }
            name=$(basename "$p"); parent=$(dirname "$p")
            bad=$(tar -tzf "$a" | while IFS= read -r e; do case "$e" in "$name"|"$name"/*) case "$e" in */../*|*/..|*/../) echo "$e";; esac;; *) echo "$e";; esac; done | head -1)
            if [ -n "$bad" ]; then echo "refusing $a: entry '$bad' would land outside $p" >&2; exit 1; fi
            rm -rf "$p"; mkdir -p "$parent"
            if [ -n "$(tar -tzf "$a" | head -1)" ]; then tar -C "$parent" -xzpf "$a"; fi
            """
    }
}
