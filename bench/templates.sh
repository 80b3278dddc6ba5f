#!/usr/bin/env bash
# A template loop over 10,000 hosts: `golive validate` (which parses the template file and checks
# every branch with each differently shaped host bound) and `golive plan --json` (which renders the
# file for the balancer: one line per web host): wall time and peak memory.
# Usage: bench/templates.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
swift build -c release --product golive >/dev/null
G="$(swift build -c release --show-bin-path)/golive"
W="$PWD/bench/work-templates"
rm -rf "$W"; mkdir -p "$W"
python3 - "$W" "$N" <<'PY'
import sys
w, n = sys.argv[1], int(sys.argv[2])
with open(f"{w}/inventory.yml", "w") as f:
    f.write("environment: big\ndefaults: { user: deploy }\ngroups:\n  web:\n    vars: { http_port: 8080 }\n    hosts:\n")
    for h in range(n):
        f.write(f"      web{h}: {{ address: 10.{h // 62500}.{h // 250 % 250}.{h % 250 + 1}, vars: {{ weight: {h % 7 + 1} }} }}\n")
    f.write("  lb:\n    hosts:\n      lb1: { address: 10.255.0.1 }\n")
with open(f"{w}/upstreams.conf.tpl", "w") as f:
    f.write("upstream app {\n{% for h in groups.web %}\n    server {{ h.address }}:{{ h.vars.http_port }} weight={{ h.vars.weight }}{% if loop.first %} backup{% endif %};\n{% endfor %}\n}\n")
with open(f"{w}/playbook.yml", "w") as f:
    f.write("name: balancer\nhosts: lb\ndeploy:\n  - name: upstreams\n    template: { src: upstreams.conf.tpl, dest: /etc/nginx/conf.d/upstreams.conf }\n    rollback: none\n")
    f.write("  - name: list in a command\n    shell: printf '%s\\n' {% for h in groups.web %}{{ h.name }} {% endfor %} | wc -l\n    rollback: none\n")
PY
for i in 1 2 3; do
    /usr/bin/time -f "validate ($N hosts in a loop): %e s wall, %M KB peak RSS" "$G" validate "$W/playbook.yml" -i "$W/inventory.yml"
done
/usr/bin/time -f "plan --json (renders the loop): %e s wall, %M KB peak RSS" "$G" plan "$W/playbook.yml" -i "$W/inventory.yml" --json --store "$W/store.db" > "$W/plan.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('plan holds', len(d['hosts']), 'host(s); fingerprint', d['fingerprint'])" "$W/plan.json"
