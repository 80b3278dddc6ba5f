#!/usr/bin/env python3
"""What load.py counted, split by the run's timeline: before the rollback began and after.

    counts.py LOAD.json TIMELINE.json

TIMELINE.json is `golive timeline RUN --format json`. Prints, for example:
    requests: 2,031 ok, 0 failed during go-live; 1,240 ok, 0 failed during rollback
(the second part only when the run rolled back). Requests are counted in the second their answer
came back; the second in which the rollback began counts as rollback. Exits 1 if any request failed.
"""
import datetime
import json
import sys


def main():
    load = json.load(open(sys.argv[1]))
    events = json.load(open(sys.argv[2]))["events"]

    def second(kind, last=False):
        found = [e for e in events if e["kind"] == kind]
        if not found:
            return None
        stamp = (found[-1] if last else found[0])["time"].replace("Z", "+00:00")
        return int(datetime.datetime.fromisoformat(stamp).timestamp())

    start, rollback, end = second("runStarted"), second("rollbackStarted"), second("runFinished", last=True)
    phases = [("go-live", start, rollback if rollback is not None else end + 1)]
    if rollback is not None:
        phases.append(("rollback", rollback, end + 1))
    parts, failed = [], 0
    for name, begin, until in phases:
        seconds = [s for s in load["per_second"] if begin <= s["second"] < until]
        ok = sum(s["ok"] for s in seconds)
        bad = sum(s["failed"] for s in seconds)
        failed += bad
        parts.append(f"{ok:,} ok, {bad:,} failed during {name}")
    print("requests: " + "; ".join(parts))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
