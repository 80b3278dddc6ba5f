import Playbook
import System

/// The shell scripts behind `archive` backups and their restores. Both are idempotent, and every
/// failing sub-step fails the script (no command substitution hides an error).
enum ArchiveScripts {
    /// The exit status of a restore that refused before touching anything (the archive did not
    /// verify, the disk cannot hold the restored copy, the path is unsafe).
    static let refusedStatus = 3

    /// The shell lines that make `p` canonical (trailing slashes dropped) and refuse the paths
    /// that cannot be backed up and restored exactly; `stop` is the function that refuses.
    static func checkPath(_ stop: String) -> String {
        """
        while [ "${p%/}" != "$p" ]; do p=${p%/}; done
        case "$p" in ""|/|.|..|*/.|*/..|*/./*|*/../*|./*|../*) \(stop) "'$p' cannot be backed up and restored exactly: write it without '.', '..' or a trailing '/'";; esac
        nl='
        '
        case "$p" in *"$nl"*) \(stop) "the path holds a newline";; esac
        """
    }

    /// Archives `path` into `archive` (tar.gz keeping modes, owners, symlinks and sparse files),
    /// written under a temporary name, synced, then renamed. Refuses an archive inside the path it
    /// backs up (with symlinks resolved), and a tree holding a file name with a newline (it could not
    /// be verified on restore). Prints `sha256 bytes existed`.
    static func create(path: String, archive: String) -> String {
        let p = ShellQuote.quote(path), a = ShellQuote.quote(archive)
        return """
            set -eu; p=\(p); a=\(a)
            # The archive holds every file of the path, secrets included: readable by its owner only.
            umask 077
            fail() { printf 'archive: %s\\n' "$*" >&2; exit 2; }
            \(checkPath("fail"))
            rp=$(realpath -m -- "$p") || fail "cannot resolve $p"
            ra=$(realpath -m -- "$a") || fail "cannot resolve $a"
            case "$ra/" in "$rp"/*) fail "refusing to store the archive $a inside the path it backs up ($rp): a restore would delete it";; esac
            d=$(dirname -- "$a") || fail "cannot take the directory of $a"
            mkdir -p -- "$d" || fail "cannot create $d"
            trap 'rm -f -- "$a.partial"' EXIT; trap 'exit 143' TERM INT
            if [ -e "$p" ] || [ -L "$p" ]; then
              if [ -d "$p" ] && [ ! -L "$p" ]; then
                odd=$(find "$p" -name "*$nl*" -print -quit) || fail "cannot read $p"
                [ -z "$odd" ] || fail "a file name under $p holds a newline; such a tree cannot be verified on restore"
              fi
              parent=$(dirname -- "$p") || fail "cannot take the directory of $p"
              name=$(basename -- "$p") || fail "cannot take the name of $p"
              tar -C "$parent" --sparse -czpf "$a.partial" -- "$name" || fail "tar failed"
              existed=1
            else
              tar -czf "$a.partial" -T /dev/null || fail "tar failed"
              existed=0
            fi
            sync -- "$a.partial" 2>/dev/null || sync
            mv -f -- "$a.partial" "$a" || fail "cannot move the archive into place"
            sum=$(sha256sum -- "$a") || fail "cannot checksum $a"
            size=$(stat -c %s -- "$a") || fail "cannot stat $a"
            printf '%s %s %s\\n' "${sum%% *}" "$size" "$existed"
            """
    }

    /// Restores `path` from `archive` exactly, or leaves it untouched.
    ///
    /// The archive is first copied beside the path into a private directory, and from then on
    /// only the copy is used: what is verified is what is restored, whatever happens to the
    /// archive meanwhile. Before the tree is touched, the copy is verified (the recorded size and
    /// SHA-256, sound gzip, a listing holding only `path`'s own entries) and the disk is checked to
    /// hold the restored copy beside the current one. The copy is then extracted, and put in place by
    /// two renames: the current tree aside, the restored one in; the aside copy is removed only once
    /// the swap is done. A run of the script that finds an earlier one's half-done swap (killed
    /// between the renames) puts the aside tree back first, so running it again always finishes the
    /// restore. Exit ``refusedStatus`` when it refused before touching anything; 1 when a later step failed.
    static func restore(path: String, archive: String, sha256: String, bytes: String, existed: Bool, tag: String) -> String {
        let p = ShellQuote.quote(path), a = ShellQuote.quote(archive)
        let safeTag = String(tag.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        return """
            set -eu; p=\(p); a=\(a); want_sha=\(ShellQuote.quote(sha256)); want_bytes=\(ShellQuote.quote(bytes)); existed=\(existed ? 1 : 0)
            refuse() { printf 'restore refused, nothing was touched: %s\\n' "$*" >&2; exit \(refusedStatus); }
            fail() { printf 'restore failed: %s\\n' "$*" >&2; exit 1; }
            \(checkPath("refuse"))
            parent=$(dirname -- "$p") || refuse "cannot take the directory of $p"
            name=$(basename -- "$p") || refuse "cannot take the name of $p"
            tmp="$parent/.$name.golive-restore-\(safeTag)"; aside="$parent/.$name.golive-aside-\(safeTag)"
            # An earlier restore killed between its two renames: put the aside tree back first.
            if [ -e "$aside" ] || [ -L "$aside" ]; then
              if [ -e "$p" ] || [ -L "$p" ]; then rm -rf -- "$aside" || fail "cannot remove $aside"
              else mv -T -- "$aside" "$p" || fail "cannot put $aside back at $p"; fi
            fi
            rm -rf -- "$tmp" || refuse "cannot remove the leftover $tmp"
            if [ -L "$a" ]; then refuse "the backup $a is a symbolic link, not the archive that was made"; fi
            [ -e "$a" ] || refuse "the backup $a is missing"
            [ -f "$a" ] || refuse "the backup $a is not a regular file"
            if [ "$existed" = 0 ] && [ ! -d "$parent" ]; then exit 0; fi  # nothing was there, nothing is: done
            mkdir -p -- "$parent" || refuse "cannot create $parent"
            free=$(df -Pk -- "$parent" | awk 'NR == 2 { printf "%.0f", $4 * 1024 }') || refuse "cannot read the free space of $parent"
            [ -n "$free" ] && [ "$free" -gt "$want_bytes" ] || refuse "$parent has $free bytes free; the backup's private copy needs $want_bytes"
            mkdir -m 700 -- "$tmp" || refuse "cannot create $tmp"
            trap 'rm -rf -- "$tmp"' EXIT
            copy="$tmp/archive"
            cp -- "$a" "$copy" || refuse "cannot copy $a beside $p"
            size=$(stat -c %s -- "$copy") || refuse "cannot stat the copy of $a"
            [ "$size" = "$want_bytes" ] || refuse "the backup $a has $size bytes; $want_bytes were recorded when it was made"
            sum=$(sha256sum -- "$copy") || refuse "cannot checksum $a"
            [ "${sum%% *}" = "$want_sha" ] || refuse "the backup $a has sha256 ${sum%% *}; $want_sha was recorded when it was made"
            gzip -t -- "$copy" 2>/dev/null || refuse "the backup $a is not sound gzip"
            tar --quoting-style=literal -tzf "$copy" > "$tmp/list" || refuse "the backup $a cannot be listed"
            while IFS= read -r e; do
              case "$e" in "$name"|"$name"/*) case "$e" in */../*|*/..|*/../) refuse "entry '$e' would land outside $p";; esac;;
              *) refuse "entry '$e' would land outside $p";; esac
            done < "$tmp/list"
            if [ "$existed" = 1 ] && ! grep -qx -e "$name" -e "$name/" "$tmp/list"; then refuse "the backup $a does not hold $name"; fi
            need=$(gzip -dc -- "$copy" | wc -c) || refuse "cannot measure $a"
            free=$(df -Pk -- "$parent" | awk 'NR == 2 { printf "%.0f", $4 * 1024 }') || refuse "cannot read the free space of $parent"
            [ -n "$free" ] && [ "$free" -gt "$need" ] || refuse "$parent has $free bytes free; the restored copy needs $need beside the current one"
            mkdir -m 700 -- "$tmp/tree" || refuse "cannot create $tmp/tree"
            tar -C "$tmp/tree" -xzpf "$copy" || refuse "extracting $a failed"
            if [ -e "$p" ] || [ -L "$p" ]; then mv -T -- "$p" "$aside" || refuse "cannot move $p aside"; fi
            if [ "$existed" = 1 ] && ! mv -T -- "$tmp/tree/$name" "$p"; then
              if mv -T -- "$aside" "$p"; then refuse "cannot move the restored $name into place"; fi
              trap - EXIT
              fail "cannot move the restored $name into place; the current tree is at $aside"
            fi
            rm -rf -- "$aside" || fail "the restore is done, but $aside could not be removed"
            """
    }
}
