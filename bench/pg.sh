#!/usr/bin/env bash
# A PostgreSQL server for the benchmark, in a private directory on a loopback port (as the
# `postgres` user when run as root: PostgreSQL refuses root). Usage:
#   bench/pg.sh start DIR   prints "URL PASSWORD" of a fresh database `bench`
#   bench/pg.sh stop DIR    stops that server by its pid and removes DIR
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/postgres" ] || { echo "PostgreSQL is not installed" >&2; exit 1; }
as=()
[ "$(id -u)" = 0 ] && as=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
case "$cmd" in
start)
    rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
    password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "$password" > "$dir/pw"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U bench --pwfile="$dir/pw" --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --no-instructions > "$dir/initdb.log" 2>&1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 > "$dir/server.log" 2>&1 &
    echo $! > "$dir/pid.txt"
    for _ in $(seq 200); do
        pg_isready -q -h 127.0.0.1 -p "$port" && break
        sleep 0.05
    done
    PGPASSWORD=$password psql -X -q -h 127.0.0.1 -p "$port" -U bench -d postgres -c "CREATE DATABASE bench" >/dev/null
    echo "postgres://bench@127.0.0.1:$port/bench?sslmode=disable $password"
    ;;
stop)
    if [ -f "$dir/pid.txt" ]; then
        pid=$(cat "$dir/pid.txt")
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -rf "$dir"
    ;;
esac
