"""gunicorn's settings for webshop on a sandbox web host (`webshop-ctl` starts it with them).

Each worker, once it has loaded the app, leaves a mark `run/ready/PID` holding the release it
loaded: `webshop-ctl start` and `restart` wait for every worker's mark, so they return only when
every worker serves, never while one is still reading the release's files."""
import os

_host = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # HOST/etc/webshop/this
_ready = os.path.join(_host, "run", "ready")
workers = 2
graceful_timeout = 10


def post_worker_init(worker):
    os.makedirs(_ready, exist_ok=True)
    release = os.path.basename(os.path.realpath(os.path.join(_host, "srv", "app", "current")))
    with open(os.path.join(_ready, f"{worker.pid}.tmp"), "w") as mark:
        mark.write(release + "\n")
    os.replace(os.path.join(_ready, f"{worker.pid}.tmp"), os.path.join(_ready, str(worker.pid)))


def worker_exit(server, worker):
    try:
        os.remove(os.path.join(_ready, str(worker.pid)))
    except OSError:
        pass
