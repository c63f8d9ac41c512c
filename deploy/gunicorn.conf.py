"""gunicorn configuration for the connector's WSGI app: the web replicas.

Run it with (gunicorn is not a dependency of the package; install it next to it,
e.g. `pip install gunicorn`):

    connector db upgrade                 # once per release: the migrator
    gunicorn -c deploy/gunicorn.conf.py  # each web replica

In the container image this file is at /opt/connector/gunicorn.conf.py
(build the image with --build-arg EXTRA_PIP_PACKAGES=gunicorn):

    docker run --entrypoint gunicorn IMAGE -c /opt/connector/gunicorn.conf.py

Roles: every gunicorn worker is a separate process. This file sets
CONNECTOR_SCHEDULER=off for the workers it starts, so they serve HTTP only:
a job they queue (POST /api/v1/contacts/resync, /users/sync) waits in the
database until a worker claims it, and LDAP schedules do not run here. Run one
or more `connector worker` processes next to the web replicas (any number is
safe: each job and each scheduled LDAP run is taken by one of them).

Migrations: web replicas do not migrate (CONNECTOR_MIGRATE=true would make them);
against an older schema they answer /readyz with 503 and log
"database schema is at X, this version needs Y: run `connector db upgrade`".
Probes: /livez (the process answers) for liveness, /readyz (database answers,
schema at head) for readiness.

Metrics: every gunicorn worker is a separate process, so /metrics, answered by
whichever worker gets the request, must add up all of them. Set
PROMETHEUS_MULTIPROC_DIR to a directory only this server uses (a tmpfs such as
/tmp/prometheus; the Kubernetes manifest and compose.yaml do): prometheus-client
then keeps each worker's counters in files there and /metrics sums them. The
hooks below create the directory and empty it when the server starts (old files
would count twice). Without the variable each worker reports only itself.

Every value below can be overridden by the environment variable named next to it.
"""

import multiprocessing
import os
import shutil
from pathlib import Path


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# The WSGI application object.
wsgi_app = "connector.web.wsgi:app"

# Listen address; 8080 matches the image's EXPOSE and HEALTHCHECK.
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8080")]

# One process per core (at least 2, at most 8), each with a few threads. A request
# spends most of its time on Python's CPU (SQLAlchemy, Flask, the rules: see
# bench/scim.py --profile) and little waiting for the database, which the threads
# cover; more processes than cores only take turns on the CPU. Measured with
# bench/scim.py on 2 cores at 100,000 users: with 5 processes (the old default,
# 2 x cores + 1) a member PATCH of one group had p99 53-98 ms over seven runs,
# with 2 processes 41-50 ms over three, at about the same throughput. Keep
# workers * threads below the database pool budget.
workers = _int_env("GUNICORN_WORKERS", min(max(multiprocessing.cpu_count(), 2), 8))
worker_class = "gthread"
threads = _int_env("GUNICORN_THREADS", 4)

# Web workers serve HTTP only; `connector worker` runs jobs and LDAP schedules.
raw_env = ["CONNECTOR_SCHEDULER=off"]

# Load the app in each worker after fork, so that no database connection or
# pool is shared between processes.
preload_app = False

timeout = _int_env("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int_env("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int_env("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then to bound memory growth.
max_requests = _int_env("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int_env("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Heartbeat files on tmpfs: works with a read-only root filesystem too.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm")

# Trust X-Forwarded-* only from the reverse proxy / ingress in front of it.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs to stdout/stderr for the container runtime. The access log has no
# Authorization header in it (bearer tokens must never be logged).
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss "%(a)s"'

proc_name = "connector-web"

# No gunicornc control socket (gunicorn 25.1+ makes one under $XDG_RUNTIME_DIR or
# ~/.gunicorn): replicas on one host would share its path, and a read-only root
# filesystem refuses it. Older gunicorn ignores this setting.
control_socket_disable = True


def on_starting(server: object) -> None:
    """Start every run with an empty metrics directory (see the module docstring)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)
