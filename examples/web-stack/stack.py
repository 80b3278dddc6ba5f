#!/usr/bin/env python3
"""A real web stack on golive's sandbox hosts, for playbooks/release.yml.

    stack.py up     [--golive PATH] [--directory DIR] [--hosts N] [--inventory FILE]
    stack.py down   [--golive PATH] [--directory DIR]
    stack.py status [--directory DIR]

`up` starts `golive sandbox up` (one network namespace and address per host: needs root), then
the stack on it, all from Debian's packages:

- on each web host: nginx (its own config, pid and logs under the host's directory) in front of
  gunicorn serving webshop 1.0.0 (a small Flask app, app/webshop.py) on a Unix socket;
- on db1: a PostgreSQL server (a private data directory, port 5432 on the namespace's loopback,
  run as the postgres user) holding the database `shop` at schema 001_initial;
- on this machine (the controller's side): HAProxy balancing HTTP over the web hosts, checking
  each one's /health, with its runtime API on an admin socket.

Each service is started by its own daemon mode and recorded (services.json) by its pid file in the
host's directory; `down` (or `golive sandbox down`) stops exactly those pids, each checked to still
be the process started by its command line naming the sandbox's directory, then the sandbox's
hosts. Nothing is started or stopped by name, and none of the machine's own services is touched.

The inventory it writes names each service's paths for the playbook (see docs/getting-started.md).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RELEASES = ["1.0.0", "2.0.0"]
DB_NAME, DB_USER = "shop", "webshop"


def fail(message):
    print(f"stack: {message}", file=sys.stderr)
    sys.exit(1)


def run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        fail(f"{' '.join(argv)} failed ({result.returncode}): {(result.stderr or result.stdout).strip()}")
    return result.stdout


def pg_bin():
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
    for version in reversed(versions):
        path = f"/usr/lib/postgresql/{version}/bin"
        if os.access(path + "/postgres", os.X_OK):
            return path
    fail("PostgreSQL is not installed (bash .ci/setup installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(address, port, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    fail(f"{what} did not answer on {address}:{port} within {timeout} s")


def inside(host, argv):
    """argv run inside the host's network namespace."""
    return ["ip", "netns", "exec", host["network"]["namespace"]] + argv


def build_artifacts(directory):
    """The release tarballs a build pipeline would hand over: webshop.py and VERSION."""
    artifacts = os.path.join(directory, "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    for release in RELEASES:
        staging = os.path.join(artifacts, "build-" + release)
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        shutil.copy(os.path.join(HERE, "app", "webshop.py"), staging)
        with open(os.path.join(staging, "VERSION"), "w") as f:
            f.write(release + "\n")
        with tarfile.open(os.path.join(artifacts, f"webshop-{release}.tgz"), "w:gz") as tar:
            for name in sorted(os.listdir(staging)):
                tar.add(os.path.join(staging, name), arcname=name)
        shutil.rmtree(staging)
    return artifacts


def nginx_conf(root):
    return f"""# nginx of this sandbox host: in front of webshop's gunicorn (a Unix socket).
user root;
worker_processes 1;
pid {root}/run/nginx.pid;
error_log {root}/log/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {root}/log/nginx-access.log;
    client_body_temp_path {root}/var/lib/nginx/body;
    proxy_temp_path {root}/var/lib/nginx/proxy;
    fastcgi_temp_path {root}/var/lib/nginx/fastcgi;
    uwsgi_temp_path {root}/var/lib/nginx/uwsgi;
    scgi_temp_path {root}/var/lib/nginx/scgi;
    upstream webshop {{ server unix:{root}/run/webshop.sock fail_timeout=0; }}
    server {{
        listen 80;
        location / {{
            proxy_pass http://webshop;
            proxy_set_header Host $host;
        }}
    }}
}}
"""


def app_conf(dsn):
    """What playbooks/files/webshop/app.conf renders to for release 1.0.0 (no fault)."""
    return f"[database]\ndsn = {dsn}\n\n[app]\nbroken_endpoints =\n"


def start_web(host, artifacts, dsn):
    root = host["root"]
    app = host["appDirectory"]
    for sub in ["run", "log", "etc/nginx", "etc/webshop", "usr/local/bin", "var/lib/nginx", "backups", "srv/incoming"]:
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    release = os.path.join(app, "releases", RELEASES[0])
    shutil.rmtree(os.path.join(app, "releases"), ignore_errors=True)
    os.makedirs(release)
    with tarfile.open(os.path.join(artifacts, f"webshop-{RELEASES[0]}.tgz")) as tar:
        # Our own tarball; the "data" filter where this Python has it.
        tar.extractall(release, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    with open(os.path.join(release, "app.conf"), "w") as f:
        f.write(app_conf(dsn))
    current = os.path.join(app, "current")
    if os.path.lexists(current):
        os.remove(current)
    os.symlink("releases/" + RELEASES[0], current)
    shutil.copy(os.path.join(HERE, "app", "webshop_wsgi.py"), app)
    shutil.copy(os.path.join(HERE, "app", "webshop-ctl"), os.path.join(root, "usr/local/bin"))
    shutil.copy(os.path.join(HERE, "app", "gunicorn.conf.py"), os.path.join(root, "etc/webshop"))
    with open(os.path.join(root, "etc/nginx/nginx.conf"), "w") as f:
        f.write(nginx_conf(root))
    run(inside(host, [os.path.join(root, "usr/local/bin/webshop-ctl"), "start"]))
    run(inside(host, ["/usr/sbin/nginx", "-p", root + "/", "-c", "etc/nginx/nginx.conf", "-e", "log/nginx-error.log"]))
    return [("gunicorn", root + "/run/gunicorn.pid"), ("nginx", root + "/run/nginx.pid")]


def start_db(host, bin_dir):
    root = host["root"]
    data, sockets = root + "/var/lib/postgresql/data", root + "/run/postgresql"
    for path in [os.path.dirname(data), sockets, root + "/log", root + "/backups", root + "/srv/migrations"]:
        os.makedirs(path, exist_ok=True)
    as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"]
    run(["chown", "-R", "postgres:postgres", os.path.dirname(data), sockets])
    run(as_postgres + [bin_dir + "/initdb", "-D", data, "-U", DB_USER, "--auth-local=trust", "--auth-host=reject",
                       "-E", "UTF8", "--no-instructions"])
    log = root + "/log/postgresql.log"
    open(log, "a").close()
    shutil.chown(log, "postgres", "postgres")
    run(inside(host, as_postgres + [
        bin_dir + "/pg_ctl", "-D", data, "-l", log, "-w", "-t", "30", "-o",
        f"-p 5432 -k {sockets} -c listen_addresses=127.0.0.1", "start"]))
    psql = [bin_dir + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", sockets, "-p", "5432", "-U", DB_USER]
    run(psql + ["-d", "postgres", "-c", f"CREATE DATABASE {DB_NAME}"])
    run(psql + ["-d", DB_NAME, "-c", """
        CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO schema_migrations (name) VALUES ('001_initial');
        CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);
        INSERT INTO orders (item) SELECT 'item ' || n FROM generate_series(1, 500) n;
    """])
    return [("postgres", data + "/postmaster.pid")], f"host={sockets} port=5432 dbname={DB_NAME} user={DB_USER}", sockets


def haproxy_cfg(directory, port, web):
    servers = "\n".join(f"    server {h['name']} {h['address']}:80 check" for h in web)
    return f"""# HAProxy in front of the sandbox's web hosts (the controller's side), its runtime API on admin.sock.
global
    stats socket {directory}/haproxy/admin.sock mode 600 level admin
    stats timeout 10s
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option http-server-close
frontend www
    bind 127.0.0.1:{port}
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server inter 200ms fall 2 rise 2
{servers}
"""


def service(host, name, pidfile, stop_signal):
    """The record `golive sandbox down` stops a service by: its pid file, the program its pid runs
    (a pid later reused by another program is not it) and the signal it shuts down on."""
    deadline = time.monotonic() + 10
    while True:
        try:
            pid = int(open(pidfile).readline().strip())
            executable = os.readlink(f"/proc/{pid}/exe")
            break
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                fail(f"{name} on {host} wrote no pid file at {pidfile}")
            time.sleep(0.05)
    return {"host": host, "name": name, "pidfile": pidfile, "signal": stop_signal, "executable": executable}


def down(options, quiet=False):
    """`golive sandbox down`: it stops the services recorded in services.json, then the hosts."""
    output = run([options.golive, "sandbox", "down", "--directory", os.path.abspath(options.directory)])
    if not quiet:
        print(output.strip())


def up(options):
    if os.geteuid() != 0:
        fail("the stack needs root: each host gets a network namespace (nginx on port 80) and PostgreSQL runs as postgres")
    for tool in ["/usr/sbin/nginx", "/usr/sbin/haproxy", "/usr/bin/gunicorn", "/usr/bin/socat"]:
        if not os.access(tool, os.X_OK):
            fail(f"{tool} is missing (bash .ci/setup installs the stack's packages)")
    directory = os.path.abspath(options.directory)
    down(options, quiet=True)
    inventory = os.path.abspath(options.inventory)
    os.makedirs(os.path.dirname(inventory), exist_ok=True)
    run([options.golive, "sandbox", "up", "--directory", directory, "--hosts", str(options.hosts), "--no-http",
         "--network", "namespaces", "--inventory", inventory])
    with open(os.path.join(directory, "state.json")) as f:
        hosts = json.load(f)
    web = [h for h in hosts if h["name"].startswith("web")]
    db = next(h for h in hosts if h["name"] == "db1")
    services = []
    state = {"services": services, "inventory": inventory}

    def save():
        # What `golive sandbox down` stops (each by its pid file, with the signal it shuts down on).
        with open(os.path.join(directory, "services.json"), "w") as f:
            json.dump(state, f, indent=2)

    try:
        bin_dir = pg_bin()
        started, dsn, sockets = start_db(db, bin_dir)
        services += [service("db1", n, p, "INT") for n, p in started]
        save()
        artifacts = build_artifacts(directory)
        for host in web:
            services += [service(host["name"], n, p, "QUIT" if n == "nginx" else "TERM") for n, p in start_web(host, artifacts, dsn)]
            save()
        for host in web:
            wait_for(host["address"], 80, f"nginx on {host['name']}")
        os.makedirs(os.path.join(directory, "haproxy"), exist_ok=True)
        port = options.port or free_port()
        with open(os.path.join(directory, "haproxy/haproxy.cfg"), "w") as f:
            f.write(haproxy_cfg(directory, port, web))
        pidfile = os.path.join(directory, "haproxy/haproxy.pid")
        run(["/usr/sbin/haproxy", "-D", "-p", pidfile, "-f", os.path.join(directory, "haproxy/haproxy.cfg")])
        services.append(service("controller", "haproxy", pidfile, "TERM"))
        state["url"] = f"http://127.0.0.1:{port}"
        save()
        wait_for("127.0.0.1", port, "HAProxy")
        wait_all_up(directory, [h["name"] for h in web])
    except BaseException:
        down(options, quiet=True)
        raise
    write_inventory(inventory, directory, web, db, bin_dir, sockets, dsn, artifacts, state["url"])
    print(f"stack up: {len(web)} web hosts (nginx + gunicorn, webshop {RELEASES[0]}), db1 (PostgreSQL, schema 001_initial), "
          f"HAProxy at {state['url']}")
    print(f"inventory written to {options.inventory}; stop everything with: {sys.argv[0]} down"
          + ("" if options.directory == ".golive/sandbox" else f" --directory {options.directory}"))


def haproxy(directory, command):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(os.path.join(directory, "haproxy/admin.sock"))
        s.sendall(command.encode() + b"\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer.decode()


def wait_all_up(directory, names, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = {}
        for line in haproxy(directory, "show stat").splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == "app":
                status[fields[1]] = fields[17]
        if all(status.get(n) == "UP" for n in names):
            return
        time.sleep(0.1)
    fail(f"HAProxy does not see every web host UP within {timeout} s: {status}")


def write_inventory(path, directory, web, db, bin_dir, sockets, dsn, artifacts, url):
    # The sandbox's own inventory gives the login (user, key, known_hosts): keep its defaults.
    lines = open(path).read().splitlines()
    start = lines.index("defaults:")
    end = lines.index("groups:")
    defaults = "\n".join(lines[start:end])
    text = f"""# Written by examples/web-stack/stack.py up: the sandbox's hosts with the web stack on them.
# web hosts: nginx :80 -> gunicorn (webshop) on a Unix socket; db1: PostgreSQL on its loopback;
# HAProxy on this machine at {url}, its runtime API at haproxy_socket.
environment: stack
{defaults}
groups:
  web:
    hosts:
"""
    for h in web:
        text += (f"      {h['name']}: {{ address: {h['address']}, port: {h['sshPort']}, "
                 f"vars: {{ host_root: {h['root']}, app_dir: {h['appDirectory']} }} }}\n")
    text += f"""  database:
    hosts:
      db1: {{ address: {db['address']}, port: {db['sshPort']}, vars: {{ host_root: {db['root']} }} }}
vars:
  site_url: {url}
  haproxy_socket: {directory}/haproxy/admin.sock
  haproxy_backend: app
  artifacts: {artifacts}
  pg_bin: {bin_dir}
  pg_socket: {sockets}
  db_name: {DB_NAME}
  db_user: {DB_USER}
  db_dsn: "{dsn}"
"""
    with open(path, "w") as f:
        f.write(text)


def status(options):
    directory = os.path.abspath(options.directory)
    try:
        state = json.load(open(os.path.join(directory, "services.json")))
    except OSError:
        print("no stack")
        return
    for service in state["services"]:
        try:
            pid = int(open(service["pidfile"]).readline())
            os.kill(pid, 0)
            running = f"running (pid {pid})"
        except (OSError, ValueError):
            running = "stopped"
        print(f"{service['host']:<10} {service['name']:<9} {running}")
    print(f"site: {state.get('url', '?')}")


def main():
    parser = argparse.ArgumentParser(description="The web stack of playbooks/release.yml on golive's sandbox hosts.")
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--golive", default=shutil.which("golive") or "golive", help="the golive binary")
    parser.add_argument("--directory", default=".golive/sandbox", help="the sandbox's directory")
    parser.add_argument("--hosts", type=int, default=4, help="how many web hosts")
    parser.add_argument("--inventory", default="inventories/stack.yml", help="where to write the inventory")
    parser.add_argument("--port", type=int, default=0, help="HAProxy's port on 127.0.0.1 (default: a free one)")
    options = parser.parse_args()
    {"up": up, "down": down, "status": status}[options.action](options)


if __name__ == "__main__":
    main()
