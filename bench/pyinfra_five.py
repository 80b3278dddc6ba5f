"""The benchmark workload with pyinfra (deploy file; PAYLOAD from the environment)."""
import os

from pyinfra import host
from pyinfra.operations import files, server

d = f"/tmp/pyinfra-bench/{host.name}"
server.shell(name="command", commands=["uname -r"])
server.shell(name="write 1 KB", commands=[f"mkdir -p {d} && head -c 1024 /dev/zero | tr '\\0' a > {d}/small"])
server.shell(name="test it", commands=[f"test -s {d}/small"])
files.put(name="upload 100 KB", src=os.environ["PAYLOAD"], dest=f"{d}/big.bin")
server.shell(name="sha256", commands=[f"sha256sum {d}/big.bin"])
