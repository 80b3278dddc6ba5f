#!/usr/bin/env bash
# The real-stack demo (as root): HAProxy in front of nginx + gunicorn on 4 sandbox web hosts and
# PostgreSQL on db1; 200 requests a second through HAProxy the whole time, counted.
#   1. rehearse playbooks/release.yml and roll it back on purpose (timed)
#   2. the plan, with the rehearsal's prediction
#   3. a release whose batch 2 fails: golive rolls batch 2, then batch 1, then the migration back
#   4. the release that works, rolled out two hosts at a time
# Every step prints how many requests were answered and how many failed.
#   GOLIVE_DEMO_DIR            where the sandbox lives (default .golive/stack)
#   GOLIVE_DEMO_SKIP_SETUP=1   skip installing packages and building (tests use this)
#   GOLIVE_BINARY              the golive binary (default: the one `swift build` made)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "the stack demo needs root (network namespaces, nginx on port 80, PostgreSQL as postgres)"; exit 1; }
if [ "${GOLIVE_DEMO_SKIP_SETUP:-}" != 1 ]; then
    bash .ci/setup
    swift build --product golive
fi
golive="${GOLIVE_BINARY:-$(swift build --show-bin-path)/golive}"
dir="${GOLIVE_DEMO_DIR:-.golive/stack}"
base=$(dirname "$dir")
inventory="$base/stack.yml"
store="$base/stack.sqlite"
rm -f "$store" "$store-wal" "$store-shm"
bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
loadpid=""
trap '[ -n "$loadpid" ] && kill "$loadpid" 2>/dev/null; true' EXIT

bold "1. The stack: 4 web hosts (nginx + gunicorn, webshop 1.0.0), PostgreSQL on db1, HAProxy in front"
python3 examples/web-stack/stack.py up --golive "$golive" --directory "$dir" --inventory "$inventory"
url=$(sed -n 's/^  site_url: //p' "$inventory")

# Runs golive with the load on; prints the counts, split at the rollback if there was one.
under_load() {
    local name=$1; shift
    python3 examples/web-stack/load.py "$url" --out "$base/load-$name.json" > "$base/load-$name.out" &
    loadpid=$!
    until grep -q "load: running" "$base/load-$name.out" 2>/dev/null; do sleep 0.1; done
    set +e
    "$golive" "$@" playbooks/release.yml -i "$inventory" --yes --store "$store"
    code=$?
    set -e
    sleep 1
    kill -TERM "$loadpid"; wait "$loadpid" || true; loadpid=""
    "$golive" timeline --store "$store" --format json > "$base/timeline-$name.json"
    python3 examples/web-stack/counts.py "$base/load-$name.json" "$base/timeline-$name.json" | sed 's/^/  /'
    return $code
}
releases() {
    for host in web1 web2 web3 web4; do printf '  %s serves %s\n' "$host" "$(readlink "$dir/hosts/$host/srv/app/current")"; done
    printf '  schema: %s\n' "$(/usr/lib/postgresql/*/bin/psql -X -At -h "$(cd "$dir" && pwd)/hosts/db1/run/postgresql" -U webshop -d shop \
        -c "SELECT string_agg(name, ', ' ORDER BY name) FROM schema_migrations")"
}

bold "2. Rehearse the go-live, then roll it back on purpose (both timed, under load)"
under_load rehearsal rehearse --rollback-after
releases

bold "3. The plan, with what the rehearsal predicts"
"$golive" plan playbooks/release.yml -i "$inventory" --store "$store" | sed -n '1,8p'

bold "4. A release whose second batch cannot reach the database: batch 1 is already serving it"
under_load failed run -e fault=batch2 && { echo "the faulty release went through?"; exit 1; }
echo "  exit 1: batch 2 failed its checks before HAProxy sent it a request; every host was rolled back"
releases

bold "5. The release that works: two hosts at a time out of HAProxy, deployed, checked, put back"
under_load release run
releases

bold "6. The record"
"$golive" runs --store "$store"
"$golive" timeline --store "$store" --format html -o "$base/stack-timeline.html"
"$golive" report --store "$store" --format html -o "$base/stack-report.html"
echo
echo "HTML timeline: $base/stack-timeline.html   report: $base/stack-report.html   (store: $store)"
echo "The stack keeps running at $url: try 'python3 examples/web-stack/load.py $url --seconds 5', then"
echo "'python3 examples/web-stack/stack.py down --golive $golive --directory $dir'."
