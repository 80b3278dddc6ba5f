"""CPU seconds the simulated hosts spent: user+sys of each host's sshd listener and of its reaped
children (every session it served). Usage: hostcpu.py STATE.json
Waits (bounded, 10 s) until no listener has a live child, so finished sessions are counted."""
import json
import os
import sys
import time

hosts = json.load(open(sys.argv[1]))
pids = [h["sshdPID"] for h in hosts]
tick = os.sysconf("SC_CLK_TCK")


def children(pid):
    try:
        return open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return []


deadline = time.monotonic() + 10
while time.monotonic() < deadline and any(children(p) for p in pids):
    time.sleep(0.05)
total = 0
for pid in pids:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    # utime stime cutime cstime: fields 14-17 of stat, 12-15 after the command name.
    total += sum(int(x) for x in fields[11:15])
print("%.2f" % (total / tick))
