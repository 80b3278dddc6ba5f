#!/usr/bin/env bash
# What watching costs the controller: N hosts (default 200), 3 probes each (log, load + memory, an
# application figure), a round every 5 s for 60 s. Prints the controller's CPU as a share of one core.
# Usage: bench/probes.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
swift build -c release --product golive >/dev/null
G="$(swift build -c release --show-bin-path)/golive"
W="$PWD/bench/work-probes"
rm -rf "$W"; mkdir -p "$W"
trap '"$G" sandbox down --directory "$W/hosts" >/dev/null 2>&1 || true' EXIT
"$G" sandbox up --hosts "$N" --no-http --network loopback --directory "$W/hosts" --inventory "$W/inv.yml" > /dev/null
python3 bench/sample.py "$W/probes.json" "$G" run bench/probes.yml -i "$W/inv.yml" --store "$W/s.sqlite" --yes
python3 - "$W/probes.json" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"N={sys.argv[2]} hosts, 3 probes, 5 s interval, 60 s watch: wall {r['wall_s']} s, controller CPU {r['cpu_s']} s "
      f"= {100 * r['cpu_s'] / r['wall_s']:.1f}% of one core (the whole run, connect and the step included); "
      f"peak RSS {r['peak_rss_mb']} MB, {r['peak_threads']} threads, {r['peak_fds']} fds")
PY
