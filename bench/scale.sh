#!/usr/bin/env bash
# Scale: N simulated hosts (default 1,000) from one controller. Measures golive's wall time, CPU,
# peak RSS, threads and open files for the 5-step run, checks no host is lost, measures how soon
# the rollback of 200 hosts starts after a failure, and what a simulated host costs.
# Usage: bench/scale.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
swift build -c release --product golive >/dev/null
G="$(swift build -c release --show-bin-path)/golive"
W="$PWD/bench/work-scale"
rm -rf "$W"; mkdir -p "$W"
head -c 102400 /dev/urandom > "$W/payload-100k.bin"
cp bench/five.yml bench/fail_one.yml "$W/"
trap '"$G" sandbox down --directory "$W/hosts" >/dev/null 2>&1 || true' EXIT

echo "== starting $N hosts"
start=$(date +%s.%N)
"$G" sandbox up --hosts "$N" --no-http --no-tiers --network loopback --login self --directory "$W/hosts" --inventory "$W/inv.yml" > /dev/null
up=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $start))")
hostcost=$(python3 - "$W/hosts/state.json" <<'PY'
import json, sys
hosts = json.load(open(sys.argv[1]))
rss = 0
for h in hosts:
    for line in open(f"/proc/{h['sshdPID']}/status"):
        if line.startswith("VmRSS:"):
            rss += int(line.split()[1])
print("%.1f MB in all, %.2f MB per idle sshd" % (rss / 1024, rss / 1024 / len(hosts)))
PY
)
echo "hosts up in ${up}s; idle sshd RSS: $hostcost"
# A 200-host inventory over the same hosts, for the rollback measurement.
python3 - "$W" <<'PY'
import sys
w = sys.argv[1]
lines = open(f"{w}/inv.yml").read().split("\n")
out, count = [], 0
for line in lines:
    if line.startswith("      web"):
        count += 1
        if count > 200:
            continue
    if line.startswith("  db:"):
        break
    out.append(line)
open(f"{w}/inv200.yml", "w").write("\n".join(out) + "\nvars:\n  app: webapp\n")
PY

for forks in 200 "$N"; do
    echo "== golive run, 5 steps x $N hosts, --forks $forks"
    python3 bench/sample.py "$W/five-$forks.json" "$G" run "$W/five.yml" -i "$W/inv.yml" --store "$W/s.sqlite" --yes --forks "$forks"
    run=$("$G" runs --store "$W/s.sqlite" --json | python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['id'])")
    "$G" timeline "$run" --store "$W/s.sqlite" --format json > "$W/five-$forks-timeline.json"
    python3 - "$W/five-$forks-timeline.json" "$N" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["events"]
done = {e["host"] for e in events if e["kind"] == "stepFinished" and e.get("step") == "deploy[4]" and e.get("status") == "ok"}
print(f"hosts that finished all 5 steps: {len(done)} of {sys.argv[2]}")
PY
done

echo "== rollback of 200 hosts: a step fails on web200 after 5 steps on every host"
python3 bench/sample.py "$W/rollback.json" "$G" run "$W/fail_one.yml" -i "$W/inv200.yml" --store "$W/s.sqlite" --yes || true
run=$("$G" runs --store "$W/s.sqlite" --json | python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['id'])")
"$G" timeline "$run" --store "$W/s.sqlite" --format json > "$W/rollback-timeline.json"
python3 - "$W/rollback-timeline.json" <<'PY'
import json, sys
from datetime import datetime
events = json.load(open(sys.argv[1]))["events"]
t = lambda e: datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()
failed = next(e for e in events if e["kind"] == "stepFinished" and e.get("status") not in ("ok", "skipped"))
started = next(e for e in events if e["kind"] == "rollbackStarted")
first = {}
for e in events:
    if e["kind"] == "rollbackStepStarted":
        first.setdefault(e["host"], t(e))
done = [t(e) for e in events if e["kind"] == "rollbackHostFinished"]
print(f"failure recorded -> rollback started: {(t(started) - t(failed)) * 1000:.0f} ms")
print(f"failure recorded -> all {len(first)} hosts' first rollback step started: {(max(first.values()) - t(failed)) * 1000:.0f} ms")
print(f"failure recorded -> last host rolled back: {(max(done) - t(failed)) * 1000:.0f} ms ({len(done)} hosts)")
PY
