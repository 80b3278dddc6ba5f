"""webshop: the example stack's application (Flask, served by gunicorn behind nginx).

One source for every release: a release's tarball holds this file, its VERSION and the config
the go-live renders into it (app.conf). Release 2.0.0 reads the column that migration
002_order_notes adds; 1.0.0 never touches it, so the old release keeps working on the new schema.
"""
import configparser
import os
import time

import psycopg2
from flask import Flask, abort, jsonify

HERE = os.path.dirname(os.path.realpath(__file__))
RELEASE = open(os.path.join(HERE, "VERSION")).read().strip()
config = configparser.ConfigParser()
config.read(os.path.join(HERE, "app.conf"))
DSN = config.get("database", "dsn", fallback="")
BROKEN = {e.strip() for e in config.get("app", "broken_endpoints", fallback="").split(",") if e.strip()}
USES_NOTES = not RELEASE.startswith("1.")
# A release that takes its time to start (`boot_delay = SECONDS` under [app]), as a large app does.
time.sleep(config.getfloat("app", "boot_delay", fallback=0))

app = Flask(__name__)
_connection = None


def db():
    """One autocommit connection per worker, made again when the server dropped it."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg2.connect(DSN, connect_timeout=2)
        _connection.autocommit = True
    return _connection


def query(sql):
    global _connection
    try:
        with db().cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    except psycopg2.OperationalError:
        _connection = None
        raise


@app.after_request
def tag(response):
    response.headers["X-Release"] = RELEASE
    return response


@app.route("/")
def index():
    (count,), = query("SELECT count(*) FROM orders")
    return f"<h1>webshop {RELEASE}</h1><p>{count} orders</p>\n"


@app.route("/orders")
def orders():
    if "orders" in BROKEN:
        abort(500)
    columns = "id, item, note" if USES_NOTES else "id, item"
    rows = query(f"SELECT {columns} FROM orders ORDER BY id LIMIT 5")
    return jsonify(release=RELEASE, orders=[list(row) for row in rows])


@app.route("/health")
def health():
    if "health" in BROKEN:
        abort(500)
    query("SELECT 1")
    return f"ok {RELEASE}\n"


@app.route("/version")
def version():
    return RELEASE + "\n"
