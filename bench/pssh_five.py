"""The benchmark workload with parallel-ssh: libssh2 in one Python process, no host key checks
(the lower bound for a libssh2 client). Usage: pssh_five.py SPEC.json ping|five"""
import json
import sys

import gevent
from pssh.clients import ParallelSSHClient
from pssh.config import HostConfig

spec = json.load(open(sys.argv[1]))
mode = sys.argv[2]
hosts = [h["address"] for h in spec["hosts"]]
names = [h["name"] for h in spec["hosts"]]
configs = [HostConfig(port=h["port"], user=spec["user"], private_key=spec["key"]) for h in spec["hosts"]]
client = ParallelSSHClient(hosts, host_config=configs, pool_size=len(hosts), num_retries=1, timeout=120)


def run(template):
    output = client.run_command(template, host_args=[{"name": n} for n in names], stop_on_errors=True)
    client.join(output)
    for o in output:
        for _ in o.stdout:
            pass
        if o.exit_code not in (0, None):
            raise SystemExit("%s: exit %s" % (o.host, o.exit_code))


if mode == "ping":
    run("true")
else:
    run("uname -r")
    run("mkdir -p /tmp/pssh-bench/%(name)s && head -c 1024 /dev/zero | tr '\\0' a > /tmp/pssh-bench/%(name)s/small")
    run("test -s /tmp/pssh-bench/%(name)s/small")
    gevent.joinall(client.copy_file(spec["payload"], "/tmp/pssh-bench/big.bin"), raise_error=True)
    run("sha256sum /tmp/pssh-bench/big.bin")
