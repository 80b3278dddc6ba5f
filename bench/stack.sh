#!/usr/bin/env bash
# The real-stack go-live side by side: golive (playbooks/release.yml) and ansible-playbook
# (bench/ansible_release.yml, the same steps: serial 2, the HAProxy steps delegated to localhost)
# on the stack of examples/web-stack (HAProxy, nginx + gunicorn on 4 web hosts, PostgreSQL on db1),
# each under the same 200 requests a second through HAProxy. For each tool and scenario: wall time,
# requests ok / failed, and what the hosts are left running.
#   release  the go-live that works
#   batch2   batch 2's hosts cannot reach the database (-e fault=batch2)
# Usage (root): bench/stack.sh   REPS=3 repetitions; RESULTS=FILE (default bench/results/DATE-stack.md).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
[ "$(id -u)" = 0 ] || { echo "the stack needs root"; exit 1; }
VENV="$PWD/bench/.venv"
[ -x "$VENV/bin/ansible-playbook" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q ansible-core; }
swift build -c release --product golive >/dev/null
G="$(swift build -c release --show-bin-path)/golive"
# A scratch directory every login user and PostgreSQL's user can reach (the sandbox's hosts log in
# as golive-deploy), wherever this checkout lives.
W=$(mktemp -d /tmp/golive-stack-bench.XXXXXX); chmod 755 "$W"
RESULTS=${RESULTS:-bench/results/$(date -u +%Y%m%d)-stack.md}
trap '"$G" sandbox down --directory "$W/sandbox" >/dev/null 2>&1 || true; echo "logs: $W"' EXIT

stack_up() {
    python3 examples/web-stack/stack.py up --golive "$G" --directory "$W/sandbox" --inventory "$W/stack.yml" >/dev/null
    # The same hosts, login and variables as an Ansible inventory.
    python3 - "$W" <<'PY'
import json, os, re, sys
w = sys.argv[1]
hosts = json.load(open(f"{w}/sandbox/state.json"))
text = open(f"{w}/stack.yml").read()
user = re.search(r"^  user: (.*)$", text, re.M).group(1)
shared = text[text.index("\nvars:\n") + 7:]
with open(f"{w}/ansible.ini", "w") as f:
    for group, prefix in [("web", "web"), ("database", "db")]:
        f.write(f"[{group}]\n")
        for h in hosts:
            if h["name"].startswith(prefix):
                f.write(f"{h['name']} ansible_host={h['address']} ansible_port={h['sshPort']} host_root={h['root']} app_dir={h['appDirectory']}\n")
    f.write(f"[all:vars]\nansible_user={user}\nansible_ssh_private_key_file={w}/sandbox/id_ed25519\nansible_python_interpreter=/usr/bin/python3\n")
os.makedirs(f"{w}/group_vars", exist_ok=True)
open(f"{w}/group_vars/all.yml", "w").write("".join(line[2:] + "\n" for line in shared.splitlines() if line.startswith("  ")))
with open(f"{w}/ansible.cfg", "w") as f:
    f.write(f"[defaults]\nforks = 5\nhost_key_checking = True\ngathering = explicit\nretry_files_enabled = False\n"
            f"[ssh_connection]\npipelining = True\ncontrol_path_dir = {w}/ansible-cp\n"
            f"ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={w}/sandbox/known_hosts -o StrictHostKeyChecking=yes\n")
PY
}

# One measured go-live: TOOL SCENARIO -> "seconds ok failed exit left"
measure() {
    local tool=$1 scenario=$2 fault=none
    [ "$scenario" = batch2 ] && fault=batch2
    stack_up
    url=$(sed -n 's/^  site_url: //p' "$W/stack.yml")
    python3 examples/web-stack/load.py "$url" --out "$W/load.json" > "$W/load.out" &
    local load=$!
    until grep -q "load: running" "$W/load.out"; do sleep 0.1; done
    local start end code
    start=$(date +%s.%N)
    set +e
    if [ "$tool" = golive ]; then
        "$G" run playbooks/release.yml -i "$W/stack.yml" --yes --store "$W/golive.sqlite" -e fault=$fault > "$W/$tool-$scenario.log" 2>&1
    else
        ANSIBLE_CONFIG="$W/ansible.cfg" "$VENV/bin/ansible-playbook" -i "$W/ansible.ini" -e "@$W/group_vars/all.yml" -e fault=$fault \
            bench/ansible_release.yml > "$W/$tool-$scenario.log" 2>&1
    fi
    code=$?
    set -e
    end=$(date +%s.%N)
    sleep 1
    kill -TERM "$load"; wait "$load" || true
    local left
    left=$(for h in web1 web2 web3 web4; do basename "$(readlink "$W/sandbox/hosts/$h/srv/app/current")"; done | sort | uniq -c | awk '{ printf "%s%s×%s", sep, $1, $2; sep=" " }')
    left="$left; $(echo 'show stat' | socat stdio "UNIX-CONNECT:$W/sandbox/haproxy/admin.sock" | awk -F, '$1 == "app" && $2 ~ /^web/ { n[$18]++ } END { for (s in n) { printf "%s%d %s", sep, n[s], s; sep=", " } }') in HAProxy"
    left="$left; schema $(/usr/lib/postgresql/*/bin/psql -X -At -h "$W/sandbox/hosts/db1/run/postgresql" -U webshop -d shop -c "SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations")"
    python3 -c "import json,sys; d=json.load(open('$W/load.json')); print('%.1f %d %d %s %s' % ($end - $start, d['ok'], d['failed'], '$code', sys.argv[1]))" "$left"
}

{
    echo "# The real-stack go-live: golive vs ansible-playbook ($(date -u +%Y-%m-%d), $(nproc) cores, REPS=$REPS)"
    echo
    echo "examples/web-stack: HAProxy → nginx + gunicorn on 4 web hosts (network namespaces), PostgreSQL 15 on db1;"
    echo "200 requests/s through HAProxy during each go-live. golive: playbooks/release.yml (golive $("$G" --version));"
    echo "Ansible: bench/ansible_release.yml, the same steps ($("$VENV/bin/ansible-playbook" --version | head -1), forks 5, pipelining, ControlPersist)."
    echo
    echo "| scenario | tool | wall time (s), each run | requests ok | failed | exit | left behind |"
    echo "|---|---|---|---|---|---|---|"
} > "$RESULTS"
broken=""
for scenario in release batch2; do
    for tool in golive ansible; do
        times=() oks=0 fails=0 codes="" left=""
        for _ in $(seq "$REPS"); do
            read -r t ok failed code rest < <(measure "$tool" "$scenario")
            times+=("$t"); oks=$((oks + ok)); fails=$((fails + failed)); codes="$codes$code "; left=$rest
        done
        echo "| $scenario | $tool | ${times[*]} | $oks | $fails | $codes| $left |" >> "$RESULTS"
        echo "$scenario $tool: ${times[*]} s, $oks ok, $fails failed, exit $codes; $left"
        # The release must go through with both tools: a bench that measured a broken run measured nothing.
        if [ "$scenario" = release ] && [ "$codes" != "$(printf '0 %.0s' $(seq "$REPS"))" ]; then broken="$broken $tool"; fi
    done
done
echo >> "$RESULTS"
echo "golive rolls a failed go-live back (web hosts batch by batch, then the down-migration); Ansible stops at the failed batch and leaves the hosts as they are." >> "$RESULTS"
echo "wrote $RESULTS"
[ -z "$broken" ] || { echo "the release did not go through with:$broken (see $W/*-release.log)"; exit 1; }
