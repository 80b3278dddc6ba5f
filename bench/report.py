"""Summarises bench/work/raw.txt (label N wall user sys maxrss_kb [hosts_cpu] per line) into a Markdown
table with medians, spreads and ratios against the peers."""
import statistics
import sys
from collections import defaultdict

rows = defaultdict(list)
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) not in (6, 7):
        continue
    label, n, wall, user, sys_, rss = parts[:6]
    hosts_cpu = float(parts[6]) if len(parts) == 7 else float("nan")
    rows[(label, int(n))].append((float(wall), float(user) + float(sys_), int(rss) / 1024, hosts_cpu))


def med(label, n, index):
    values = [r[index] for r in rows.get((label, n), [])]
    return statistics.median(values) if values else None


def spread(label, n):
    values = [r[0] for r in rows.get((label, n), [])]
    return (max(values) - min(values)) if len(values) > 1 else 0.0


sizes = sorted({n for _, n in rows})
labels = sorted({l for l, _ in rows})
print("| tool | N | wall s (median) | spread s | controller CPU s | CPU ms/host | peak RSS MB | hosts' CPU s | runs |")
print("|---|---|---|---|---|---|---|---|---|")
for label in labels:
    for n in sizes:
        if (label, n) not in rows:
            continue
        wall, cpu, rss, hosts = med(label, n, 0), med(label, n, 1), med(label, n, 2), med(label, n, 3)
        print("| %s | %d | %.2f | %.2f | %.2f | %.1f | %.0f | %.2f | %d |" % (label, n, wall, spread(label, n), cpu, cpu * 1000 / n, rss, hosts, len(rows[(label, n)])))
print()
print("| ratio | " + " | ".join("N=%d" % n for n in sizes) + " |")
print("|---|" + "---|" * len(sizes))
def ratio(a, b, index=0):
    cells = []
    for n in sizes:
        x, y = med(a, n, index), med(b, n, index)
        cells.append("%.2f" % (x / y) if x and y else "–")
    return cells
for title, a, b, index in [
    ("golive / parallel-ssh wall (5 steps)", "golive-five", "pssh-five", 0),
    ("golive / parallel-ssh controller CPU (5 steps)", "golive-five", "pssh-five", 1),
    ("golive / OpenSSH+ControlMaster wall (5 steps)", "golive-five", "openssh-five", 0),
    ("golive --transport openssh / OpenSSH+ControlMaster wall (5 steps)", "golive-five-openssh", "openssh-five", 0),
    ("golive --transport openssh / golive (libssh2) wall (5 steps)", "golive-five-openssh", "golive-five", 0),
    ("ansible-playbook / golive --transport openssh wall (5 steps)", "ansible-five", "golive-five-openssh", 0),
    ("golive auto, half RSA / golive (libssh2) wall (5 steps)", "golive-five-auto-mixed", "golive-five", 0),
    ("ansible-playbook / golive wall (5 steps)", "ansible-five", "golive-five", 0),
    ("ansible-playbook / golive controller CPU (5 steps)", "ansible-five", "golive-five", 1),
    ("pyinfra / golive wall (5 steps)", "pyinfra-five", "golive-five", 0),
    ("golive / pyinfra controller CPU (5 steps)", "golive-five", "pyinfra-five", 1),
    ("golive ping / parallel-ssh ping wall", "golive-ping", "pssh-ping", 0),
    ("ansible-inventory / golive inventory wall (read an INI inventory)", "ansible-inventory", "golive-inventory", 0),
    ("ansible-inventory / golive inventory peak RSS", "ansible-inventory", "golive-inventory", 2),
    ("journal on / off wall (5 steps)", "golive-five", "golive-five-nojournal", 0),
    ("journal in PostgreSQL / in SQLite wall (5 steps)", "golive-five-postgres", "golive-five", 0),
    ("golive ping / bare ssh true wall", "golive-ping", "ssh-true", 0),
]:
    print("| %s | %s |" % (title, " | ".join(ratio(a, b, index))))
# The PostgreSQL store's live view: commit to line on a remote `golive watch`.
if len(sys.argv) > 2:
    try:
        lines = [line.split() for line in open(sys.argv[2]) if line.strip()]
    except OSError:
        lines = []
    if lines:
        print()
        print("| remote watch latency (PostgreSQL store) | events | median ms | p90 ms | max ms |")
        print("|---|---|---|---|---|")
        for parts in lines:
            if len(parts) == 4:
                print("| commit to line on `golive watch` | %s | %s | %s | %s |" % tuple(parts))
