#!/usr/bin/env bash
# Side-by-side benchmark: golive vs OpenSSH (ControlMaster) vs parallel-ssh on N local sshd hosts.
# Usage: bench/run.sh [N ...]   (default 1 10 50 200); REPS=3 repetitions each.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1 10 50 200)
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
python3 -c "import pssh" 2>/dev/null || pip install -q parallel-ssh
swift build -c release --product golive >/dev/null
G="$(swift build -c release --show-bin-path)/golive"
W="$PWD/bench/work"
rm -rf "$W"; mkdir -p "$W"
head -c 102400 /dev/urandom > "$W/payload-100k.bin"
cp bench/five.yml bench/five_health.yml "$W/"
: > "$W/raw.txt"

measure() { # LABEL N COMMAND...
    local label=$1 n=$2; shift 2
    if /usr/bin/time -f "%e %U %S %M" -o "$W/time.txt" "$@" > "$W/out.txt" 2>&1; then
        echo "$label $n $(cat "$W/time.txt")" >> "$W/raw.txt"
    else
        echo "FAILED: $label N=$n"; tail -5 "$W/out.txt"
    fi
}

for N in "${SIZES[@]}"; do
    echo "== N=$N"
    "$G" sandbox up --hosts "$N" --no-http --directory "$W/hosts" --inventory "$W/inv.yml" > /dev/null
    # OpenSSH config and parallel-ssh spec from the sandbox's state.
    python3 - "$W" <<'PY'
import json, os, sys
w = sys.argv[1]
hosts = json.load(open(os.path.join(w, "hosts/state.json")))
key = os.path.join(w, "hosts/id_ed25519")
with open(os.path.join(w, "ssh_config"), "w") as f:
    for h in hosts:
        f.write(f"Host {h['name']}\n  HostName 127.0.0.1\n  Port {h['sshPort']}\n  IdentityFile {key}\n"
                f"  UserKnownHostsFile {w}/hosts/known_hosts\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
                f"  ControlMaster auto\n  ControlPath {w}/cm-%h\n  ControlPersist 60\n")
json.dump({"user": os.environ.get("USER", "root"), "key": key, "payload": os.path.join(w, "payload-100k.bin"),
           "hosts": [{"name": h["name"], "address": "127.0.0.1", "port": h["sshPort"]} for h in hosts]},
          open(os.path.join(w, "spec.json"), "w"))
with open(os.path.join(w, "openssh_five.sh"), "w") as f:
    f.write("set -e\ncfg=%s/ssh_config\n" % w)
    f.write("one() { h=$1; d=/tmp/openssh-bench/$h\n"
            "  ssh -F $cfg $h uname -r >/dev/null\n"
            "  ssh -F $cfg $h \"mkdir -p $d && head -c 1024 /dev/zero | tr '\\\\0' a > $d/small\"\n"
            "  ssh -F $cfg $h test -s $d/small\n"
            "  ssh -F $cfg $h \"cat > $d/big.bin\" < %s/payload-100k.bin\n"
            "  ssh -F $cfg $h sha256sum $d/big.bin >/dev/null; }\n" % w)
    f.write("for h in %s; do one $h & done\nwait\n" % " ".join(h["name"] for h in hosts))
    f.write("for h in %s; do ssh -F $cfg -O exit $h 2>/dev/null & done; wait\n" % " ".join(h["name"] for h in hosts))
PY
    for rep in $(seq "$REPS"); do
        measure golive-ping "$N" "$G" ping -i "$W/inv.yml"
        measure golive-five "$N" "$G" run "$W/five.yml" -i "$W/inv.yml" --store "$W/s.sqlite" --yes
        measure golive-five-nojournal "$N" env GOLIVE_BENCH_JOURNAL=memory "$G" run "$W/five.yml" -i "$W/inv.yml" --store "$W/s.sqlite" --yes
        measure golive-five-health "$N" "$G" run "$W/five_health.yml" -i "$W/inv.yml" --store "$W/s.sqlite" --yes
        measure openssh-five "$N" bash "$W/openssh_five.sh"
        measure pssh-ping "$N" python3 bench/pssh_five.py "$W/spec.json" ping
        measure pssh-five "$N" python3 bench/pssh_five.py "$W/spec.json" five
        if [ "$N" = 1 ]; then
            measure ssh-true 1 ssh -F "$W/ssh_config" -o ControlMaster=no web1 true
        fi
    done
    "$G" sandbox down --directory "$W/hosts" > /dev/null
done

stamp=$(date -u +%Y%m%d-%H%M)
out="bench/results/$stamp.md"
{
    echo "# Benchmark $stamp"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load before: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Hosts: N local sshd (OpenSSH $(ssh -V 2>&1 | cut -d, -f1 | cut -d_ -f2)) on loopback, each with its own home; $REPS repetitions."
    echo "Controller CPU = user+sys of the tool's process tree (the hosts' sshd CPU is not included)."
    echo
    python3 bench/report.py "$W/raw.txt"
} > "$out"
cat "$out"
