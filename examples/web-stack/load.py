#!/usr/bin/env python3
"""Live traffic for a go-live: requests through HAProxy, counted per second.

    load.py URL [--rate 200] [--connections 4] [--paths /,/orders,/health] [--timeout 2] [--out FILE] [--seconds S]

Each connection is a keep-alive HTTP/1.1 client sending GETs round the paths, paced so that all
together send `--rate` requests a second. Every answer is counted in the second it came back: by
status code, by the release that answered (the X-Release header) and its time; a connection that
fails (refused, reset, closed mid-answer) counts as a connection error and is made again; an answer
not complete within `--timeout` seconds of the request fails too. A 2xx is ok; any other status, a
connection error or a late answer is a failed request. A stall shorter than the timeout fails nothing, so it is counted too: the slowest answer
of each second, and the requests a connection could not send on time because it was still waiting
(`missed`). Every second of the run is listed, an empty one too.

It prints `load: running` once the first answer came back, runs until SIGTERM or SIGINT (or
`--seconds`), then writes the counts as JSON to `--out` (per second, and in total) and prints a line:
`requests: 18,342 ok, 0 failed (0 connection errors); slowest answer 84 ms, 0 not sent on time`.
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
seconds = {}            # epoch second -> {"ok", "failed", "errors", "missed", "max_ms", "status": {}, "release": {}}
first_answer = threading.Event()
stop = threading.Event()


def bucket(second):
    entry = seconds.get(second)
    if entry is None:
        entry = seconds[second] = {"ok": 0, "failed": 0, "errors": 0, "missed": 0, "max_ms": 0, "status": {}, "release": {}}
    return entry


def record(status=None, release=None, error=None, took=0.0, missed=0):
    with lock:
        entry = bucket(int(time.time()))
        entry["max_ms"] = max(entry["max_ms"], int(took * 1000))
        if missed:
            entry["missed"] += missed
            return
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


def client(url, paths, interval, offset, timeout):
    target = urllib.parse.urlsplit(url)
    connection = None
    next_at = time.monotonic() + offset
    index = 0
    while not stop.is_set():
        now = time.monotonic()
        if next_at > now:
            stop.wait(next_at - now)
            if stop.is_set():
                break
        elif now - next_at >= interval:
            # Still waiting when these were due: not sent, and said so.
            late = int((now - next_at) / interval)
            record(missed=late)
            next_at += late * interval
        next_at += interval
        path = paths[index % len(paths)]
        index += 1
        began = time.monotonic()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=timeout)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            took = time.monotonic() - began
            if took > timeout:
                # The socket's timeout bounds each read, not the whole answer: a slow one fails here.
                record(error="SlowAnswer", took=took)
            else:
                record(status=response.status, release=response.getheader("X-Release"), took=took)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            record(error=type(error).__name__, took=time.monotonic() - began)
            if connection is not None:
                connection.close()
            connection = None


def totals():
    with lock:
        if seconds:
            for second in range(min(seconds), max(seconds)):
                bucket(second)     # a second with no answer at all is listed, empty
        ok = sum(e["ok"] for e in seconds.values())
        failed = sum(e["failed"] for e in seconds.values())
        errors = sum(e["errors"] for e in seconds.values())
        releases = {}
        for entry in seconds.values():
            for name, count in entry["release"].items():
                releases[name] = releases.get(name, 0) + count
        missed = sum(e["missed"] for e in seconds.values())
        slowest = max((e["max_ms"] for e in seconds.values()), default=0)
        return {"ok": ok, "failed": failed, "connection_errors": errors, "missed": missed, "slowest_ms": slowest, "releases": releases,
                "per_second": [{"second": s, **seconds[s]} for s in sorted(seconds)]}


def main():
    parser = argparse.ArgumentParser(description="Requests through a load balancer, counted per second.")
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=200, help="requests a second, all connections together")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--paths", default="/,/orders,/health")
    parser.add_argument("--timeout", type=float, default=2, help="seconds without an answer that fail a request")
    parser.add_argument("--out", help="where to write the counts (JSON)")
    parser.add_argument("--seconds", type=float, help="stop after this long (default: at SIGTERM or SIGINT)")
    options = parser.parse_args()
    paths = [p for p in options.paths.split(",") if p]
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    interval = options.connections / options.rate
    threads = [
        threading.Thread(target=client, args=(options.url, paths, interval, i * interval / options.connections, options.timeout), daemon=True)
        for i in range(options.connections)
    ]
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
    print(f"requests: {result['ok']:,} ok, {result['failed']:,} failed ({result['connection_errors']:,} connection errors); "
          f"slowest answer {result['slowest_ms']:,} ms, {result['missed']:,} not sent on time", flush=True)


if __name__ == "__main__":
    sys.exit(main())
