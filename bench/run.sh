#!/usr/bin/env bash
# Side-by-side benchmark: golive vs ansible-playbook, pyinfra, parallel-ssh and OpenSSH (ControlMaster)
# on N local sshd hosts. Usage: bench/run.sh [N ...]   (default 1 10 50 200); REPS=3 repetitions each;
# PEERS="ansible pyinfra pssh openssh" (default: all) limits the peers; RESULTS=FILE writes the report
# there instead of bench/results/DATE.md (the CI smoke run uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1 10 50 200)
PEERS=${PEERS:-ansible pyinfra pssh openssh}
peer() { [[ " $PEERS " == *" $1 "* ]]; }
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
# The peers come from PyPI into a virtual environment of the bench's own (bench/.venv); one that
# cannot be installed is skipped and said so.
VENV="$PWD/bench/.venv"
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV" || echo "no virtual environment (python3-venv missing?): the peers will be skipped"
PY="$VENV/bin/python"
skip() { echo "SKIPPED $1: pip install failed"; PEERS=${PEERS/$2/}; }
peer pssh && { "$PY" -c "import pssh" 2>/dev/null || "$VENV/bin/pip" install -q parallel-ssh || skip parallel-ssh pssh; }
peer ansible && { [ -x "$VENV/bin/ansible-playbook" ] || "$VENV/bin/pip" install -q ansible-core || skip ansible ansible; }
peer pyinfra && { [ -x "$VENV/bin/pyinfra" ] || "$VENV/bin/pip" install -q pyinfra || skip pyinfra pyinfra; }
swift build -c release --product golive >/dev/null
G="$(swift build -c release --show-bin-path)/golive"
W="$PWD/bench/work"
rm -rf "$W"; mkdir -p "$W"
head -c 102400 /dev/urandom > "$W/payload-100k.bin"
# The team store: a PostgreSQL server of the benchmark's own on loopback (skipped, and said so,
# where PostgreSQL is not installed).
PGURL=""
if PGINFO=$(bash bench/pg.sh start "$W/pg"); then
    PGURL=${PGINFO% *}; PGPASS=${PGINFO#* }
    trap 'bash bench/pg.sh stop "$W/pg"' EXIT
else
    echo "SKIPPED the PostgreSQL store: PostgreSQL is not installed"
fi
latency_done=""
# The mixed fleet's RSA key (half the hosts log in with it: `auto` gives them OpenSSH).
ssh-keygen -q -t rsa -b 3072 -N '' -f "$W/id_rsa"
cp bench/five.yml bench/five_health.yml bench/ansible_five.yml bench/pyinfra_five.py "$W/"
: > "$W/raw.txt"
failures=0

# Stops the ControlPersist masters a peer left behind (only those using this run's directory).
stop_masters() {
    for pid in $(pgrep -f "$W/(cm-|ansible-cp)" || true); do kill "$pid" 2>/dev/null || true; done
}

measure() { # LABEL N COMMAND...  (wall, controller user+sys, peak RSS, then the hosts' CPU)
    local label=$1 n=$2; shift 2
    local before after
    before=$(python3 bench/hostcpu.py "$W/hosts/state.json")
    if /usr/bin/time -f "%e %U %S %M" -o "$W/time.txt" "$@" > "$W/out.txt" 2>&1; then
        stop_masters
        after=$(python3 bench/hostcpu.py "$W/hosts/state.json")
        echo "$label $n $(cat "$W/time.txt") $(python3 -c "print('%.2f' % ($after - $before))")" >> "$W/raw.txt"
    else
        stop_masters
        failures=$((failures + 1))
        echo "FAILED: $label N=$n"; tail -5 "$W/out.txt"
    fi
}

for N in "${SIZES[@]}"; do
    echo "== N=$N"
    # Loopback ports (not namespaces), so every tool meets the same hosts as in earlier results.
    "$G" sandbox up --hosts "$N" --no-http --no-tiers --network loopback --login self --directory "$W/hosts" --inventory "$W/inv.yml" > /dev/null
    # OpenSSH config and parallel-ssh spec from the sandbox's state.
    python3 - "$W" <<'PY'
import json, os, sys
w = sys.argv[1]
hosts = json.load(open(os.path.join(w, "hosts/state.json")))
key = os.path.join(w, "hosts/id_ed25519")
with open(os.path.join(w, "ssh_config"), "w") as f:
    for h in hosts:
        f.write(f"Host {h['name']}\n  HostName {h['address']}\n  Port {h['sshPort']}\n  IdentityFile {key}\n"
                f"  UserKnownHostsFile {w}/hosts/known_hosts\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
                f"  ControlMaster auto\n  ControlPath {w}/cm-%h\n  ControlPersist 60\n")
# The mixed fleet: every other host logs in with the RSA key (authorized beside the sandbox's own).
with open(os.path.join(w, "hosts/authorized_keys"), "a") as f:
    f.write(open(os.path.join(w, "id_rsa.pub")).read())
inventory = open(os.path.join(w, "inv.yml")).read()
for index, h in enumerate(hosts):
    if index % 2 == 1:
        inventory = inventory.replace("      %s: { address:" % h["name"], "      %s: { identity: %s, address:" % (h["name"], os.path.join(w, "id_rsa")))
open(os.path.join(w, "inv-mixed.yml"), "w").write(inventory)
json.dump({"user": os.environ.get("USER", "root"), "key": key, "payload": os.path.join(w, "payload-100k.bin"),
           "hosts": [{"name": h["name"], "address": h["address"], "port": h["sshPort"]} for h in hosts]},
          open(os.path.join(w, "spec.json"), "w"))
user = os.environ.get("USER", "root")
# ansible: forks = N, pipelining and ControlPersist on, host keys checked against the sandbox's known_hosts.
with open(os.path.join(w, "ansible.ini"), "w") as f:
    for h in hosts:
        f.write(f"{h['name']} ansible_host={h['address']} ansible_port={h['sshPort']} ansible_user={user} "
                f"ansible_ssh_private_key_file={key} ansible_python_interpreter=/usr/bin/python3\n")
with open(os.path.join(w, "ansible.cfg"), "w") as f:
    f.write(f"[defaults]\nforks = {len(hosts)}\nhost_key_checking = True\ngathering = explicit\n"
            f"interpreter_python = /usr/bin/python3\nstdout_callback = default\nretry_files_enabled = False\n"
            f"[ssh_connection]\npipelining = True\ncontrol_path_dir = {w}/ansible-cp\n"
            f"ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={w}/hosts/known_hosts "
            f"-o StrictHostKeyChecking=yes\n")
# pyinfra: host keys checked against the same known_hosts.
with open(os.path.join(w, "pyinfra_inventory.py"), "w") as f:
    f.write("hosts = [\n")
    for h in hosts:
        f.write(f"    ({h['name']!r}, {{'ssh_hostname': {h['address']!r}, 'ssh_port': {h['sshPort']}, 'ssh_user': {user!r}, "
                f"'ssh_key': {key!r}, 'ssh_known_hosts_file': {w + '/hosts/known_hosts'!r}, "
                f"'ssh_strict_host_key_checking': 'yes'}}),\n")
    f.write("]\n")
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
        [ -n "$PGURL" ] && measure golive-five-postgres "$N" env GOLIVE_STORE_PASSWORD="$PGPASS" \
            "$G" run "$W/five.yml" -i "$W/inv.yml" --store "$PGURL" --yes
        measure golive-five-nojournal "$N" env GOLIVE_BENCH_JOURNAL=memory "$G" run "$W/five.yml" -i "$W/inv.yml" --store "$W/s.sqlite" --yes
        measure golive-five-health "$N" "$G" run "$W/five_health.yml" -i "$W/inv.yml" --store "$W/s.sqlite" --yes
        measure golive-five-openssh "$N" "$G" run "$W/five.yml" -i "$W/inv.yml" --store "$W/s.sqlite" --yes --transport openssh
        measure golive-five-auto-mixed "$N" "$G" run "$W/five.yml" -i "$W/inv-mixed.yml" --store "$W/s.sqlite" --yes
        peer openssh && measure openssh-five "$N" bash "$W/openssh_five.sh"
        # Reading the same Ansible INI inventory: every host with its variables (and, for golive, its
        # connection after ssh_config), no host contacted.
        measure golive-inventory "$N" "$G" inventory -i "$W/ansible.ini" --environment bench --list --json
        peer ansible && measure ansible-inventory "$N" env ANSIBLE_CONFIG="$W/ansible.cfg" "$VENV/bin/ansible-inventory" -i "$W/ansible.ini" --list
        if peer pssh; then
            measure pssh-ping "$N" "$PY" bench/pssh_five.py "$W/spec.json" ping
            measure pssh-five "$N" "$PY" bench/pssh_five.py "$W/spec.json" five
        fi
        peer ansible && measure ansible-five "$N" env ANSIBLE_CONFIG="$W/ansible.cfg" \
            "$VENV/bin/ansible-playbook" -i "$W/ansible.ini" "$W/ansible_five.yml" -e payload="$W/payload-100k.bin"
        peer pyinfra && measure pyinfra-five "$N" env PAYLOAD="$W/payload-100k.bin" \
            "$VENV/bin/pyinfra" "$W/pyinfra_inventory.py" "$W/pyinfra_five.py" -y --parallel "$N"
        if [ "$N" = 1 ]; then
            measure ssh-true 1 ssh -F "$W/ssh_config" -o ControlMaster=no web1 true
        fi
    done
    # From an event's commit to its line on a remote `watch` (a second process on its own terminal).
    if [ -n "$PGURL" ] && [ -z "$latency_done" ]; then
        echo "$(python3 bench/watch_latency.py "$G" "$PGURL" "$PGPASS" "$W/inv.yml" "$W")" >> "$W/latency.txt"
        latency_done=1
    fi
    "$G" sandbox down --directory "$W/hosts" > /dev/null
done

stamp=$(date -u +%Y%m%d-%H%M)
out="${RESULTS:-bench/results/$stamp.md}"
{
    echo "# Benchmark $stamp"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load before: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Hosts: N local sshd (OpenSSH $(ssh -V 2>&1 | cut -d, -f1 | cut -d_ -f2)) on loopback, each with its own home; $REPS repetitions."
    echo "Controller CPU = user+sys of the tool's process tree (the hosts' sshd CPU is not included)."
    echo
    python3 bench/report.py "$W/raw.txt" "$W/latency.txt"
} > "$out"
cat "$out"
[ "$failures" = 0 ] || { echo "$failures measurement(s) failed"; exit 1; }
