#!/usr/bin/env bash
# `golive validate` and `golive plan --json` on a generated playbook of 1,000 steps and an inventory of
# 5,000 hosts: wall time and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product golive >/dev/null
G="$(swift build -c release --show-bin-path)/golive"
W="$PWD/bench/work-validate"
rm -rf "$W"; mkdir -p "$W"
python3 - "$W" <<'PY'
import sys
w = sys.argv[1]
with open(f"{w}/inventory.yml", "w") as f:
    f.write("environment: big\ndefaults: { user: deploy }\ngroups:\n")
    for g in range(50):
        f.write(f"  g{g}:\n    vars: {{ http_port: {8000 + g}, app_dir: /srv/app{g} }}\n    hosts:\n")
        for h in range(100):
            f.write(f"      h{g}-{h}: {{ address: 10.{g}.{h // 250}.{h % 250 + 1}, vars: {{ weight: {h} }} }}\n")
with open(f"{w}/playbook.yml", "w") as f:
    f.write("name: big\nhosts: all\nserial: 10%\nvars: { version: '1.0' }\ndeploy:\n")
    for s in range(1000):
        f.write(f"  - name: step {s}\n    shell: echo {{{{ version }}}} {{{{ host.name }}}} {{{{ app_dir }}}}/{s} {{{{ weight }}}}\n")
        if s % 10 == 0:
            f.write(f"    rollback: rm -f {{{{ app_dir }}}}/{s}\n")
PY
for i in 1 2 3; do
    /usr/bin/time -f "validate: %e s wall, %M KB peak RSS" "$G" validate "$W/playbook.yml" -i "$W/inventory.yml"
done
/usr/bin/time -f "plan --json (5,000 hosts x 1,000 steps): %e s wall, %M KB peak RSS" "$G" plan "$W/playbook.yml" -i "$W/inventory.yml" --json > /dev/null
