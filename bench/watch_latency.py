"""The latency from an event's commit to its line on a remote `golive watch` (the PostgreSQL store).

Usage: watch_latency.py GOLIVE STORE_URL PASSWORD INVENTORY WORKDIR [MARKS]

Runs a playbook of MARKS steps (one every 250 ms) on the inventory's first host with the store
URL, and, from a second process on a pseudo-terminal (as on-call's own terminal would be),
`golive watch RUN`. Each `stepFinished ... 'mark-K'` line is timestamped when the watch first
draws it and compared with the event's recorded time (read from the database; stamped just before
the commit, so the figure is an upper bound). Prints: count median p90 max (milliseconds).
"""
import datetime
import fcntl
import json
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import termios
import time

golive, url, password, inventory, work = sys.argv[1:6]
marks = int(sys.argv[6]) if len(sys.argv) > 6 else 20
env = dict(os.environ, GOLIVE_STORE_PASSWORD=password)
play = os.path.join(work, "latency.yml")
with open(play, "w") as f:
    f.write("name: watch latency\nhosts: all\ndeploy:\n")
    for k in range(1, marks + 1):
        f.write(f"  - name: mark-{k}\n    shell: sleep 0.25\n    rollback: none\n")
first = json.load(open(os.path.join(work, "hosts/state.json")))[0]["name"]
run = subprocess.Popen([golive, "run", play, "-i", inventory, "--limit", first, "--store", url, "--yes", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
run_id = None
while run_id is None:  # the first line may be the playbook's warnings
    line = run.stdout.readline()
    if not line:
        sys.exit("the run printed no event")
    run_id = json.loads(line).get("runID")

pid, fd = pty.fork()
if pid == 0:
    os.execve(golive, [golive, "watch", run_id, "--store", url], dict(env, TERM="xterm-256color"))
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
seen = {}
buffer = ""
pattern = re.compile(r"stepFinished \S+ 'mark-(\d+)'")
deadline = time.time() + marks * 0.25 + 30
while time.time() < deadline and len(seen) < marks:
    ready, _, _ = select.select([fd], [], [], 0.5)
    if not ready:
        if run.poll() is not None and time.time() > deadline - 25:
            break
        continue
    try:
        chunk = os.read(fd, 65536).decode("utf-8", "replace")
    except OSError:
        break
    now = time.time()
    buffer = (buffer + chunk)[-20000:]
    for match in pattern.finditer(buffer):
        seen.setdefault(int(match.group(1)), now)
os.write(fd, b"q")
run.wait()
try:
    os.waitpid(pid, 0)
except ChildProcessError:
    pass

rows = subprocess.run(
    ["psql", "-X", "-At", "-F", " ", url.split("?")[0], "-c",
     f"SELECT step_name, time FROM golive.events WHERE run_id = '{run_id}' AND kind = 'stepFinished'"],
    env=dict(os.environ, PGPASSWORD=password), capture_output=True, text=True, check=True).stdout.split("\n")
committed = {}
for row in rows:
    if row.startswith("mark-"):
        name, stamp = row.split(" ", 1)
        committed[int(name[5:])] = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
latencies = sorted((seen[k] - committed[k]) * 1000 for k in seen if k in committed)
if not latencies:
    print("0 nan nan nan")
else:
    p90 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.9))]
    print("%d %.0f %.0f %.0f" % (len(latencies), statistics.median(latencies), p90, latencies[-1]))
