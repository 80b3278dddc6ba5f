#!/usr/bin/env bash
# What watching costs the controller: N hosts (default 200), 3 probes each (log, load + memory, an
# application figure), a round every 5 s for 60 s. Runs the same go-live with a 5 s watch too, so the
# watch's own share of one core is the difference. Usage: bench/probes.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
swift build -c release --product golive >/dev/null
G="$(swift build -c release --show-bin-path)/golive"
W="$PWD/bench/work-probes"
rm -rf "$W"; mkdir -p "$W"
trap '"$G" sandbox down --directory "$W/hosts" >/dev/null 2>&1 || true' EXIT
"$G" sandbox up --hosts "$N" --no-http --no-tiers --network loopback --login self --directory "$W/hosts" --inventory "$W/inv.yml" > /dev/null
sed 's/duration: 60s/duration: 5s/' bench/probes.yml > "$W/probes-short.yml"
# What the probes read must exist before the prechecks take their baselines.
for i in $(seq "$N"); do mkdir -p "/tmp/golive-bench-probes/web$i"; echo 42 > "/tmp/golive-bench-probes/web$i/figure"; : > "/tmp/golive-bench-probes/web$i/app.log"; done
python3 bench/sample.py "$W/short.json" "$G" run "$W/probes-short.yml" -i "$W/inv.yml" --store "$W/s.sqlite" --yes
python3 bench/sample.py "$W/long.json" "$G" run bench/probes.yml -i "$W/inv.yml" --store "$W/s.sqlite" --yes
python3 - "$W" "$N" <<'PY'
import json, sys
short, long = (json.load(open(f"{sys.argv[1]}/{name}.json")) for name in ("short", "long"))
watch_cpu, watch_wall = long["cpu_s"] - short["cpu_s"], long["wall_s"] - short["wall_s"]
print(f"N={sys.argv[2]} hosts, 3 probes, a round every 5 s: the 60 s run took {long['cpu_s']} CPU-s in {long['wall_s']} s "
      f"({100 * long['cpu_s'] / long['wall_s']:.1f}% of one core, connect, baselines and the step included); "
      f"the watch alone (60 s run - 5 s run): {watch_cpu:.2f} CPU-s in {watch_wall:.1f} s = {100 * watch_cpu / watch_wall:.1f}% of one core; "
      f"peak RSS {long['peak_rss_mb']} MB, {long['peak_threads']} threads, {long['peak_fds']} fds")
PY
