#!/usr/bin/env python3
"""Live traffic for a go-live: requests through HAProxy, counted per second.

    load.py URL [--rate 200] [--connections 4] [--paths /,/orders,/health] [--out FILE] [--seconds S]

Each connection is a keep-alive HTTP/1.1 client sending GETs round the paths, paced so that all
together send `--rate` requests a second. Every answer is counted in the second it came back: by
status code and by the release that answered (the X-Release header); a connection that fails (refused,
reset, timed out, closed mid-answer) counts as a connection error and is made again. A 2xx is ok; any
other status or a connection error is a failed request.

It prints `load: running` once the first answer came back, runs until SIGTERM or SIGINT (or
`--seconds`), then writes the counts as JSON to `--out` (per second, and in total) and prints a line:
`requests: 18,342 ok, 0 failed (0 connection errors)`.
"""
import argparse
import http.client
import json
import signal
import sys
import threading
import time
import urllib.parse

lock = threading.Lock()
seconds = {}            # epoch second -> {"ok", "failed", "errors", "status": {}, "release": {}}
first_answer = threading.Event()
stop = threading.Event()


def bucket(second):
    entry = seconds.get(second)
    if entry is None:
        entry = seconds[second] = {"ok": 0, "failed": 0, "errors": 0, "status": {}, "release": {}}
    return entry


def record(status=None, release=None, error=None):
    with lock:
        entry = bucket(int(time.time()))
        if error is not None:
            entry["errors"] += 1
            entry["failed"] += 1
            entry["status"][error] = entry["status"].get(error, 0) + 1
            return
        entry["ok" if 200 <= status < 300 else "failed"] += 1
        entry["status"][str(status)] = entry["status"].get(str(status), 0) + 1
        if release:
            entry["release"][release] = entry["release"].get(release, 0) + 1
    first_answer.set()


def client(url, paths, interval, offset):
    target = urllib.parse.urlsplit(url)
    connection = None
    next_at = time.monotonic() + offset
    index = 0
    while not stop.is_set():
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
            if stop.is_set():
                break
        next_at = max(next_at + interval, time.monotonic() - 1)
        path = paths[index % len(paths)]
        index += 1
        try:
            if connection is None:
                connection = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=5)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            record(status=response.status, release=response.getheader("X-Release"))
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            record(error=type(error).__name__)
            if connection is not None:
                connection.close()
            connection = None


def totals():
    with lock:
        ok = sum(e["ok"] for e in seconds.values())
        failed = sum(e["failed"] for e in seconds.values())
        errors = sum(e["errors"] for e in seconds.values())
        releases = {}
        for entry in seconds.values():
            for name, count in entry["release"].items():
                releases[name] = releases.get(name, 0) + count
        return {"ok": ok, "failed": failed, "connection_errors": errors, "releases": releases,
                "per_second": [{"second": s, **seconds[s]} for s in sorted(seconds)]}


def main():
    parser = argparse.ArgumentParser(description="Requests through a load balancer, counted per second.")
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=200, help="requests a second, all connections together")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--paths", default="/,/orders,/health")
    parser.add_argument("--out", help="where to write the counts (JSON)")
    parser.add_argument("--seconds", type=float, help="stop after this long (default: at SIGTERM or SIGINT)")
    options = parser.parse_args()
    paths = [p for p in options.paths.split(",") if p]
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    interval = options.connections / options.rate
    threads = [threading.Thread(target=client, args=(options.url, paths, interval, i * interval / options.connections), daemon=True)
               for i in range(options.connections)]
    for thread in threads:
        thread.start()
    while not first_answer.wait(0.1):
        if stop.is_set():
            break
    print("load: running", flush=True)
    stop.wait(options.seconds)
    stop.set()
    for thread in threads:
        thread.join(10)
    result = totals()
    if options.out:
        with open(options.out, "w") as f:
            json.dump(result, f)
    print(f"requests: {result['ok']:,} ok, {result['failed']:,} failed ({result['connection_errors']:,} connection errors)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
