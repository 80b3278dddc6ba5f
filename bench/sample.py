"""Runs a command and samples it every 20 ms: wall time, CPU (user+sys of it and its children), peak
RSS, and the peak thread count and open file descriptors of the process itself.
Usage: sample.py OUTPUT.json COMMAND...   (the command's own output goes to OUTPUT.log)"""
import json
import os
import resource
import subprocess
import sys
import time

out = sys.argv[1]
start = time.monotonic()
with open(out.rsplit(".", 1)[0] + ".log", "w") as log:
    child = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
peak_threads = peak_fds = peak_rss_kb = 0
while child.poll() is None:
    try:
        for line in open(f"/proc/{child.pid}/status"):
            if line.startswith("Threads:"):
                peak_threads = max(peak_threads, int(line.split()[1]))
            elif line.startswith("VmHWM:"):
                peak_rss_kb = max(peak_rss_kb, int(line.split()[1]))
        peak_fds = max(peak_fds, len(os.listdir(f"/proc/{child.pid}/fd")))
    except OSError:
        pass
    time.sleep(0.02)
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
result = {
    "command": sys.argv[2:], "exit": child.returncode, "wall_s": round(wall, 2),
    "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mb": round(max(peak_rss_kb, usage.ru_maxrss) / 1024, 1),
    "peak_threads": peak_threads, "peak_fds": peak_fds,
}
json.dump(result, open(out, "w"))
print(json.dumps(result))
