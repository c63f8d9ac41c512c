"""Benchmark: the connector's SCIM endpoint against the reference scim2-server, same client.

    .venv/bin/python bench/scim.py [--sizes 2000,20000,100000] [--mode serve|production|both]
                                   [--seconds 4] [--threads 8] [--mixed-rate 25]

In one run it starts, all on loopback:

* the reference: scim2-server 0.8.3 (PyPI), in memory, under waitress with 8
  threads (bench/scim_reference.py), from its own virtual environment
  bench/.reference-venv, created here with pip on the first run;
* the connector, ``serve`` mode: ``connector serve`` on SQLite, one process;
* the connector, ``production`` mode (README "Running in production"): web
  processes under ``gunicorn -c deploy/gunicorn.conf.py`` and one
  ``connector worker``, on a private PostgreSQL database created on
  127.0.0.1:5432 and dropped at the end; after each load its tables are vacuumed
  and analysed, as autovacuum leaves them (the test server runs without it);
* a hello-world ceiling: a minimal Flask app under waitress (one process, 8
  threads) and under gunicorn (2 workers of 4 threads).

Every server is driven by the same client: ``--threads`` threads, each with its
own keep-alive ``http.client`` connection, sending single requests back to back
for ``--seconds`` per phase and timing each one. For each size (stored users) it
first brings every server to that many users through ``/Bulk`` (1,000
operations a request, not timed; the connector's SCIM source has its sync scope
on, so each of its users also has a synchronised contact), then measures:
create, lookup by ``userName eq``, GET by id, PATCH in Entra's shapes (each
change its own ``Replace`` operation with a path; one path-less ``replace``
with a value object of dotted keys), PUT in Okta's shape (the whole user),
a page of 100 (``startIndex``/``count``), DELETE (of the users it created),
and once 10,000 users are stored, adding and removing one member of a group of
10,000 members (Entra's shapes). Then, at the largest size, the mixed load:
PATCH at a fixed rate (``--mixed-rate`` a second, spread over the threads; 25 by
default, the rate Entra ID expects a gallery app to take per tenant)
for ``--seconds``, then again while "Update all synchronized users" rewrites
every contact after a mapping change (POST /api/v1/contacts/resync), until
the job ends or ``--mixed-max-seconds`` pass; each server is stopped once its
measurements are done.

It prints requests/s, p50 and p99 (ms) per size, operation and server, each
connector mode's ratio to the reference, and every target of the issue with
its measured value and PASS/FAIL. Every process it started is stopped on exit,
also on errors and Ctrl-C.

``CONNECTOR_BENCH_PG`` names the PostgreSQL server's admin URL
(default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
# This file's directory must not shadow the top-level ``scim`` package (the loader
# imports the connector); the report module is found at the end of the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.append(str(BENCH))

from scim_report import (  # noqa: E402
    GROUP_OPS,
    REFERENCE,
    USER_OPS,
    Figures,
    Key,
    component_table,
    components,
    table,
    targets,
    verdict_table,
)

PG_ADMIN = os.environ.get("CONNECTOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REFERENCE_VENV = BENCH / ".reference-venv"
REFERENCE_PACKAGES = ("scim2-server==0.8.3", "waitress>=3,<4")
VENV_BIN = Path(sys.executable).parent
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
GROUP_SIZE = 10_000
JOB_STATES: dict[str, str] = {}  # the resync job's state when the mixed load ended
PROCESS_NAMES = {"serve": ("connector-serve",), "production": ("connector-web", "connector-worker")}
BULK_OPS = 1000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes


class Processes:
    """Every process the bench starts, each in its own process group, stopped at exit."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.running: list[subprocess.Popen[bytes]] = []
        self.by_name: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> Path:
        path = self.logdir / f"{name}.log"
        with path.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.running.append(proc)
        self.by_name[name] = proc
        return path

    def stop(self, *names: str) -> None:
        """Stop the named processes (a server whose measurements are done)."""
        procs = [self.by_name.pop(n) for n in names if n in self.by_name]
        self._stop(procs)
        self.running = [p for p in self.running if p not in procs]

    def stop_all(self) -> None:
        self._stop(self.running)
        self.running.clear()
        self.by_name.clear()

    @staticmethod
    def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
        for proc in procs:
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(args: list[str], env: dict[str, str]) -> str:
    out = subprocess.run(
        [str(VENV_BIN / "connector"), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out.stdout


# ------------------------------------------------------------------ HTTP client


class Client:
    """One keep-alive connection per thread to one server; each request timed."""

    def __init__(self, port: int, token: str | None) -> None:
        self.port = port
        self.headers = {"Content-Type": "application/scim+json", "Accept": "application/scim+json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            conn.close()
            self.local.conn = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        """(status, body, seconds). A connection the server closed while idle (keep-alive
        timeout, a recycled gunicorn worker) is opened again and the request resent once."""
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            conn = self._conn()
            began = time.perf_counter()
            try:
                conn.request(method, path, data, self.headers)
                response = conn.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - began
            if response.will_close:
                self.close()
            return response.status, payload, elapsed
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, payload, _ = self.call(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload) if payload else None


# ------------------------------------------------------------------ servers


@dataclass
class Server:
    """A SCIM server under test and what the bench knows of its data."""

    name: str
    port: int
    prefix: str  # the SCIM base path
    token: str
    admin_token: str | None = None  # the connector's admin API
    database_url: str | None = None  # the connector's, for the loader
    ids: list[str] = field(default_factory=list)  # user i's id at index i
    created: list[str] = field(default_factory=list)  # by the create phase, for DELETE
    group_id: str | None = None
    candidates: list[str] = field(default_factory=list)  # users not in the group
    added: list[str] = field(default_factory=list)  # members the add phase put in
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> Client:
        return Client(self.port, self.token)


def wait_ready(port: int, path: str, log_path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.3)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"server on port {port} not ready after {timeout:.0f} s:\n{tail}")


def ensure_reference_venv() -> Path:
    """bench/.reference-venv with the reference server, created with pip on first use."""
    python = REFERENCE_VENV / "bin" / "python"
    stamp = REFERENCE_VENV / ".installed"
    wanted = "\n".join(REFERENCE_PACKAGES)
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    log(f"creating {REFERENCE_VENV.relative_to(ROOT)} ({', '.join(REFERENCE_PACKAGES)})")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(REFERENCE_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *REFERENCE_PACKAGES], check=True
    )
    stamp.write_text(wanted)
    return python


def start_reference(procs: Processes) -> Server:
    python = ensure_reference_venv()
    port, token = free_port(), uuid.uuid4().hex
    path = procs.start(
        "reference",
        [str(python), str(BENCH / "scim_reference.py"), "--port", str(port), "--token", token],
    )
    wait_ready(port, "/v2/ServiceProviderConfig", path)
    return Server(REFERENCE, port, "/v2", token)


def _connector_tokens(env: dict[str, str]) -> tuple[str, str]:
    scim = run_cli(["token", "create", "--source", "bench"], env).strip().splitlines()[-1]
    admin = run_cli(["token", "create", "--admin"], env).strip().splitlines()[-1]
    return scim.split()[-1], admin.split()[-1]


def _sync_scope_on(server: Server) -> None:
    """Every user of the bench's SCIM source gets a contact (the mixed load needs them)."""
    admin = Client(server.port, server.admin_token)
    admin.json("PATCH", "/api/v1/sources/bench", {"syncScope": True})


def profiled_op(method: str, path: str, query: str) -> str:
    """The benchmark operation a request belongs to, from its method and URL (PATCHes
    of both Entra shapes count as one), so each operation gets its own profile."""
    if "/Groups" in path:
        return f"group-{method.lower()}"
    if method == "GET" and path.endswith("/Users"):
        return "lookup" if "filter=" in query else "page100"
    return {"GET": "get", "POST": "create", "PATCH": "patch", "PUT": "put"}.get(
        method, method.lower()
    )


def serve_profiled(port: int, out: str, clock: str) -> None:
    """``connector serve`` as cli.cmd_serve runs it, each request under cProfile in its
    own thread (cProfile sees only the thread that enabled it), one profile per
    operation (:func:`profiled_op`); each operation's profiles are added up and
    written to ``out``.OP.pstats when the process is stopped (SIGTERM), with the
    number of requests in ``out``.counts.json. ``clock``: "wall" counts waits (for
    the database's lock, for I/O), "cpu" the thread's CPU only."""
    import cProfile
    import pstats

    from connector import startup
    from connector.config import load_settings
    from connector.logs import configure_logging
    from connector.web.app import create_app
    from connector.web.serving import serve

    settings = load_settings()
    configure_logging(settings)
    started = startup.start(settings, upgrade=True)
    app = create_app(started.ctx, started.runner)
    profiles: dict[str, list[cProfile.Profile]] = {}
    counts: dict[str, int] = {}
    local = threading.local()
    guard = threading.Lock()

    def profiled(environ: Any, start_response: Any) -> Any:
        op = profiled_op(
            environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", "")
        )
        mine = getattr(local, "profiles", None)
        if mine is None:
            mine = local.profiles = {}
        profile = mine.get(op)
        if profile is None:
            timer = time.thread_time if clock == "cpu" else time.perf_counter
            profile = mine[op] = cProfile.Profile(timer)
            with guard:
                profiles.setdefault(op, []).append(profile)
        with guard:
            counts[op] = counts.get(op, 0) + 1
        profile.enable()
        try:
            return list(app(environ, start_response))
        finally:
            profile.disable()

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        serve(profiled, host="127.0.0.1", port=port, max_body_bytes=settings.server.max_body_bytes)
    finally:
        started.runner.shutdown()
        with guard:
            for op, mine in profiles.items():
                stats = pstats.Stats(mine[0])
                for more in mine[1:]:
                    stats.add(more)
                stats.dump_stats(f"{out}.{op}.pstats")
            Path(f"{out}.counts.json").write_text(json.dumps(counts))


def start_serve(
    procs: Processes, workdir: Path, profile: Path | None = None, clock: str = "wall"
) -> Server:
    folder = workdir / "serve"
    folder.mkdir()
    env = {
        "CONNECTOR_DATA_DIR": str(folder),
        "CONNECTOR_DATABASE_URL": f"sqlite:///{folder / 'connector.db'}",
    }
    token, admin = _connector_tokens(env)  # migrates the new database first
    port = free_port()
    cmd = [str(VENV_BIN / "connector"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if profile is not None:
        cmd = [sys.executable, __file__, "--serve-profiled", str(port), str(profile), clock]
    path = procs.start("connector-serve", cmd, env)
    wait_ready(port, "/readyz", path)
    server = Server("serve", port, "/scim/v2", token, admin, env["CONNECTOR_DATABASE_URL"])
    _sync_scope_on(server)
    return server


@contextmanager
def postgres_database() -> Iterator[str]:
    """A private database on the local PostgreSQL for this run, dropped at the end."""
    import psycopg

    name = f"connector_bench_scim_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def as_autovacuum_leaves(url: str) -> None:
    """The production database as autovacuum leaves tables that grew by a load this size:
    planner statistics fresh and the visibility map set (an index-only scan reads no
    rows). The test server runs with autovacuum off, so the figures would otherwise
    depend on a state no production PostgreSQL stays in; like bench/console_pages.py.
    Then a CHECKPOINT: the load's dirty pages are written now, not by the checkpointer
    in the middle of a later phase (a directory loaded long before has them on disk)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        conn.autocommit = True  # VACUUM runs outside a transaction
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def settled_wal(url: str) -> None:
    """The SQLite database with the load's write-ahead log copied in and emptied, for
    the same reason as the PostgreSQL checkpoint above: the serving process's
    background checkpoints would otherwise copy the whole load during a later phase."""
    import sqlite3

    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path, timeout=60) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def start_production(procs: Processes, workdir: Path, url: str, web_workers: int | None) -> Server:
    folder = workdir / "production"
    folder.mkdir()
    env = {"CONNECTOR_DATA_DIR": str(folder), "CONNECTOR_DATABASE_URL": url}
    run_cli(["db", "upgrade"], env)  # the migrator, once per release
    token, admin = _connector_tokens(env)
    port = free_port()
    web_env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus"),
        "GUNICORN_LOG_LEVEL": "warning",
    }
    if web_workers:
        web_env["GUNICORN_WORKERS"] = str(web_workers)
    path = procs.start(
        "connector-web",
        [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
        web_env,
    )
    procs.start("connector-worker", [str(VENV_BIN / "connector"), "worker"], env)
    wait_ready(port, "/readyz", path)
    server = Server("production", port, "/scim/v2", token, admin, url)
    _sync_scope_on(server)
    return server


HELLO_APP = """
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
"""


def start_hello(procs: Processes, workdir: Path, kind: str) -> Server:
    folder = workdir / "hello"
    folder.mkdir(exist_ok=True)
    (folder / "hello_app.py").write_text(HELLO_APP)
    port = free_port()
    if kind == "waitress":
        cmd = [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(folder)!r}); import waitress, hello_app; "
            f"waitress.serve(hello_app.app, host='127.0.0.1', port={port}, threads=8)",
        ]
    else:
        cmd = [
            str(VENV_BIN / "gunicorn"),
            "--chdir",
            str(folder),
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "hello_app:app",
        ]
    path = procs.start(f"hello-{kind}", cmd)
    wait_ready(port, "/", path)
    return Server(f"hello-{kind}", port, "", "")


# ------------------------------------------------------------------ data


def user_name(i: int) -> str:
    return f"user{i:07d}@example.com"


def user_body(i: int) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name(i),
        "externalId": f"ext-{i:07d}",
        "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
        "displayName": f"Given{i} Family{i}",
        "title": "Engineer",
        "active": True,
        "emails": [{"type": "work", "value": user_name(i), "primary": True}],
        "phoneNumbers": [{"type": "work", "value": f"+49 30 {i:07d}"}],
    }


def load_users(server: Server, upto: int) -> float:
    """Bring the server to ``upto`` stored users; returns users/s. The reference through
    /Bulk; the connector through its batch creation service (see :func:`load_connector`)."""
    start = len(server.ids)
    if upto <= start:
        return 0.0
    if server.database_url:
        began = time.monotonic()
        out = subprocess.run(
            [sys.executable, __file__, "--load", server.database_url, f"{start}:{upto}"],
            check=True,
            capture_output=True,
            text=True,
        )
        server.ids.extend(json.loads(out.stdout.strip().splitlines()[-1]))
        if len(server.ids) != upto:
            raise RuntimeError(f"{server.name}: loader made {len(server.ids)} of {upto} users")
        return (upto - start) / (time.monotonic() - began)
    server.ids.extend([""] * (upto - start))
    chunks = [(a, min(upto, a + BULK_OPS)) for a in range(start, upto, BULK_OPS)]
    failures: list[str] = []
    began = time.monotonic()

    def work(chunk_list: list[tuple[int, int]]) -> None:
        client = server.client()
        for a, b in chunk_list:
            ops = [
                {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user_body(i)}
                for i in range(a, b)
            ]
            answer = client.json(
                "POST",
                f"{server.prefix}/Bulk",
                {"schemas": [BULK_SCHEMA], "failOnErrors": 1, "Operations": ops},
            )
            for op in answer["Operations"]:
                if str(op.get("status")) != "201":
                    failures.append(json.dumps(op)[:300])
                    continue
                i = int(op["bulkId"][1:])
                server.ids[i] = op["location"].rstrip("/").rsplit("/", 1)[-1]

    threads = [threading.Thread(target=work, args=(chunks[k::2],)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures or not all(server.ids[start:upto]):
        raise RuntimeError(f"{server.name}: bulk load failed: {failures[:3]}")
    return (upto - start) / (time.monotonic() - began)


def load_connector(url: str, start: int, end: int) -> list[str]:
    """Users start..end-1 into the connector's SCIM source "bench", in a process of their
    own, through ``users.create_many``: the connector's batch creation (a directory's
    import uses it) with the same validation, uniqueness checks, audit events and
    synchronised contacts as a SCIM create, at a few thousand users a second where
    /Bulk makes one create per operation. Returns the new ids in order."""
    from connector.config import Settings
    from connector.db.models import Source
    from connector.services import users
    from connector.services.context import Context

    ctx = Context.from_settings(Settings.model_validate({"database": {"url": url}}))
    ids: list[str] = []
    for a in range(start, end, 2000):

        def batch(session: Any, a: int = a) -> list[str]:
            source = session.query(Source).filter(Source.name == "bench").one()
            items = [users.NewUser(user_body(i), True) for i in range(a, min(end, a + 2000))]
            made = users.create_many(session, "scim:bench-loader", source, items)
            bad = [r for r in made if not isinstance(r, users.CreatedUser)]
            if bad:
                raise RuntimeError(f"loader: {bad[:3]}")
            return [r.id for r in made if isinstance(r, users.CreatedUser)]

        ids.extend(ctx.run(batch))
    ctx.db.dispose()
    return ids


def ensure_group(server: Server, members: int) -> bool:
    """A group of ``members`` members (the first users), created once enough users exist."""
    if server.group_id is None and len(server.ids) >= members:
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": "bench-big-group",
            "members": [{"value": uid} for uid in server.ids[:members]],
        }
        created = server.client().json("POST", f"{server.prefix}/Groups", body, expect=201)
        server.group_id = created["id"]
    if server.group_id is not None:
        taken = set(server.added)
        server.candidates = [uid for uid in server.ids[members:] if uid not in taken]
        random.Random(7).shuffle(server.candidates)
    return server.group_id is not None


# ------------------------------------------------------------------ operations

# An operation makes one request: (method, path, body, accepted statuses), or None
# when it has nothing left to do (DELETE and group removal work through lists).
Request = tuple[str, str, Any, tuple[int, ...]]
Op = Callable[[Server, random.Random, int], Request | None]


def _random_index(server: Server, rng: random.Random) -> int:
    return rng.randrange(len(server.ids))


def op_create(server: Server, rng: random.Random, n: int) -> Request:
    body = user_body(0)
    name = f"new-{uuid.uuid4().hex}@example.com"
    body.update(userName=name, externalId=name, emails=[{"type": "work", "value": name}])
    return ("POST", f"{server.prefix}/Users", body, (201,))


def op_lookup(server: Server, rng: random.Random, n: int) -> Request:
    flt = quote(f'userName eq "{user_name(_random_index(server, rng))}"')
    return ("GET", f"{server.prefix}/Users?filter={flt}", None, (200,))


def op_get(server: Server, rng: random.Random, n: int) -> Request:
    return ("GET", f"{server.prefix}/Users/{rng.choice(server.ids)}", None, (200,))


def op_patch_path(server: Server, rng: random.Random, n: int) -> Request:
    """Entra without the aadOptscim062020 flag: one Replace operation per attribute, with paths."""
    ops = [
        {"op": "Replace", "path": "title", "value": f"Title {n}"},
        {"op": "Replace", "path": "name.givenName", "value": f"Given {n}"},
        {"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": f"+49 30 {n}"},
    ]
    body = {"schemas": [PATCH_SCHEMA], "Operations": ops}
    return ("PATCH", f"{server.prefix}/Users/{rng.choice(server.ids)}", body, (200, 204))


def op_patch_value(server: Server, rng: random.Random, n: int) -> Request:
    """Entra with the flag: one path-less replace, its value an object of dotted keys."""
    value = {"title": f"Title {n}", "name.givenName": f"Given {n}", "active": True}
    body = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": value}]}
    return ("PATCH", f"{server.prefix}/Users/{rng.choice(server.ids)}", body, (200, 204))


def op_put(server: Server, rng: random.Random, n: int) -> Request:
    """Okta: the whole user, as GET returned it with the profile changed."""
    i = _random_index(server, rng)
    body = user_body(i)
    body.update(id=server.ids[i], title=f"Title {n}", groups=[])
    return ("PUT", f"{server.prefix}/Users/{server.ids[i]}", body, (200,))


def op_page(server: Server, rng: random.Random, n: int) -> Request:
    start = rng.randint(1, max(1, len(server.ids) - 100))
    return ("GET", f"{server.prefix}/Users?startIndex={start}&count=100", None, (200,))


def _pop(server: Server, items: list[str]) -> str | None:
    with server.lock:
        return items.pop() if items else None


def op_delete(server: Server, rng: random.Random, n: int) -> Request | None:
    uid = _pop(server, server.created)
    return None if uid is None else ("DELETE", f"{server.prefix}/Users/{uid}", None, (204,))


def op_member_add(server: Server, rng: random.Random, n: int) -> Request | None:
    uid = _pop(server, server.candidates)
    if uid is None:
        return None
    with server.lock:
        server.added.append(uid)
    op = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": uid}]}
    body = {"schemas": [PATCH_SCHEMA], "Operations": [op]}
    return ("PATCH", f"{server.prefix}/Groups/{server.group_id}", body, (200, 204))


def op_member_remove(server: Server, rng: random.Random, n: int) -> Request | None:
    uid = _pop(server, server.added)
    if uid is None:
        return None
    op = {"op": "remove", "path": f'members[value eq "{uid}"]'}
    body = {"schemas": [PATCH_SCHEMA], "Operations": [op]}
    return ("PATCH", f"{server.prefix}/Groups/{server.group_id}", body, (200, 204))


OPERATIONS: dict[str, Op] = {
    "create": op_create,
    "lookup": op_lookup,
    "get": op_get,
    "patch-path": op_patch_path,
    "patch-value": op_patch_value,
    "put": op_put,
    "page100": op_page,
    "delete": op_delete,
    "member-add": op_member_add,
    "member-remove": op_member_remove,
}


def run_phase(
    server: Server,
    op_name: str,
    seconds: float,
    threads: int,
    rate: float | None = None,
    stop: threading.Event | None = None,
) -> tuple[Figures, list[str]]:
    """``threads`` clients send ``op_name`` requests back to back (or ``rate`` a second in
    all, at fixed times) until ``seconds`` pass or ``stop`` is set; a bounded loop."""
    op = OPERATIONS[op_name]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    began = time.perf_counter()
    deadline = began + seconds
    ends = [began] * threads
    interval = threads / rate if rate else 0.0

    def work(k: int) -> None:
        client, rng, mine, n = server.client(), random.Random(k * 7919 + 1), latencies[k], 0
        next_at = began + (interval * k / threads)
        try:
            while True:
                if interval:
                    pause = next_at - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    next_at += interval
                now = time.perf_counter()
                if now >= deadline or (stop is not None and stop.is_set()):
                    break
                request = op(server, rng, n * threads + k)
                if request is None:
                    break
                method, path, body, accepted = request
                n += 1
                try:
                    status, payload, took = client.call(method, path, body)
                except OSError as exc:
                    errors.append(f"{method} {type(exc).__name__}: {exc}")
                    continue
                if status in accepted:
                    mine.append(took)
                    if op_name == "create":
                        created = json.loads(payload)["id"]
                        with server.lock:
                            server.created.append(created)
                else:
                    errors.append(f"{method} {path[:80]}: {status} {payload[:200]!r}")
        finally:
            ends[k] = time.perf_counter()
            client.close()

    workers = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    elapsed = max(ends) - began
    every = [x for part in latencies for x in part]
    return Figures.of(every, len(errors), elapsed), errors


# ------------------------------------------------------------------ the run


def load_all(servers: list[Server], size: int) -> None:
    """Every server to ``size`` users, side by side (not timed; they share the cores)."""
    failed: list[BaseException] = []

    def load(server: Server) -> None:
        try:
            rate = load_users(server, size)
        except BaseException as exc:
            failed.append(exc)
            return
        way = "the batch creation service" if server.database_url else "/Bulk"
        if rate:
            log(f"{server.name}: {size:,} users stored ({rate:,.0f} users/s through {way})")
            if server.database_url and server.database_url.startswith("postgresql"):
                as_autovacuum_leaves(server.database_url)
            elif server.database_url:
                settled_wal(server.database_url)

    log(f"loading every server to {size:,} users")
    threads = [threading.Thread(target=load, args=(s,), daemon=True) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]


def measure_size(
    server: Server,
    size: int,
    args: argparse.Namespace,
    results: dict[Key, Figures],
) -> None:
    ops = list(USER_OPS)
    if ensure_group(server, args.group_members):
        ops += GROUP_OPS
    if args.ops is not None:
        ops = [op for op in ops if op in args.ops]
    for op in ops:
        figures, errors = run_phase(server, op, args.seconds, args.threads)
        results[(server.name, size, op)] = figures
        log(
            f"{server.name} {size:,} {op}: {figures.rps:,.0f}/s p50 {figures.p50_ms:.1f} ms "
            f"p99 {figures.p99_ms:.1f} ms, {figures.errors} errors"
        )
        for line in errors[:3]:
            log(f"    {line}")


def _swap_names(server: Server) -> None:
    """A mapping change that alters every contact: first and last name swap places."""
    admin = Client(server.port, server.admin_token)
    mapping = admin.json("GET", "/api/v1/mapping")
    for row in mapping["rows"]:
        if row["contactField"] == "firstName":
            row["contactField"] = "lastName"
        elif row["contactField"] == "lastName":
            row["contactField"] = "firstName"
    admin.json("PUT", "/api/v1/mapping", {"rows": mapping["rows"], "version": mapping["version"]})


def measure_mixed(
    server: Server, args: argparse.Namespace, mixed: dict[str, Figures], size: int
) -> None:
    """PATCH at a fixed rate alone, then while "Update all synchronized users" runs."""
    base, _ = run_phase(server, "patch-path", args.seconds, args.threads, rate=args.mixed_rate)
    mixed[f"{server.name}:alone"] = base
    admin = Client(server.port, server.admin_token)
    _swap_names(server)
    job = admin.json("POST", "/api/v1/contacts/resync", expect=202)
    stop = threading.Event()
    state: dict[str, Any] = {}

    def watch() -> None:
        began = time.monotonic()
        while time.monotonic() - began < args.mixed_max_seconds:
            state.update(admin.json("GET", f"/api/v1/jobs/{job['id']}"))
            if state["state"] not in ("queued", "running"):
                break
            time.sleep(0.25)
        state["seconds"] = time.monotonic() - began
        stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    during, errors = run_phase(
        server,
        "patch-path",
        args.mixed_max_seconds + 5,
        args.threads,
        rate=args.mixed_rate,
        stop=stop,
    )
    watcher.join()
    mixed[server.name] = during
    log(
        f"{server.name} resync over {size:,} contacts: job {state.get('state')} in "
        f"{state.get('seconds', 0):.1f} s (done {state.get('done')}, changed "
        f"{state.get('changed')}); PATCH alone p50 {base.p50_ms:.1f} p99 {base.p99_ms:.1f} ms, "
        f"during p50 {during.p50_ms:.1f} p99 {during.p99_ms:.1f} ms, {during.errors} errors"
    )
    JOB_STATES[server.name] = str(state.get("state"))
    mixed[f"{server.name}:job"] = Figures(
        ok=int(state.get("done") or 0),
        errors=int(state.get("errors") or 0),
        seconds=float(state.get("seconds", 0)),
        p50_ms=float("nan"),
        p99_ms=float("nan"),
    )
    for line in errors[:3]:
        log(f"    {line}")


def ceiling(procs: Processes, workdir: Path, args: argparse.Namespace) -> dict[str, Figures]:
    out = {}
    for kind in ("waitress", "gunicorn"):
        server = start_hello(procs, workdir, kind)
        OPERATIONS["hello"] = lambda s, r, n: ("GET", "/", None, (200,))
        figures, _ = run_phase(server, "hello", args.seconds, args.threads)
        out[kind] = figures
        log(f"hello-world {kind}: {figures.rps:,.0f}/s p50 {figures.p50_ms:.1f} ms")
    return out


def report(
    args: argparse.Namespace,
    servers: list[str],
    results: dict[Key, Figures],
    mixed: dict[str, Figures],
    hello: dict[str, Figures],
) -> None:
    print(
        f"\nSCIM benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} cores, {args.threads} client threads, {args.seconds:g} s a phase"
    )
    print("requests/s (!N: N refused answers), p50 and p99 in ms; x SERVER: ratio to reference\n")
    print(table(results, servers, args.sizes))
    print("\nhello-world ceiling, same client:")
    for kind, f in hello.items():
        detail = "one process, 8 threads" if kind == "waitress" else "2 workers x 4 threads"
        print(
            f"  Flask under {kind} ({detail}): {f.rps:,.0f}/s, p50 {f.p50_ms:.1f} ms, "
            f"p99 {f.p99_ms:.1f} ms"
        )
    if mixed:
        print(
            f"\nmixed load at {max(args.sizes):,} users: PATCH (Entra, with paths) at "
            f"{args.mixed_rate:g}/s, alone and while 'Update all synchronized users' runs:"
        )
        for server in servers:
            if server == REFERENCE or server not in mixed:
                continue
            alone, during, job = mixed[f"{server}:alone"], mixed[server], mixed[f"{server}:job"]
            print(
                f"  {server:<11} alone p50 {alone.p50_ms:.1f} / p99 {alone.p99_ms:.1f} ms; "
                f"during p50 {during.p50_ms:.1f} / p99 {during.p99_ms:.1f} ms "
                f"({during.ok} PATCHes answered, {during.rps:.0f}/s, {during.errors} errors); "
                f"job: {job.ok:,} contacts in {job.seconds:.1f} s, {JOB_STATES.get(server)}"
            )
    small, large = min(args.sizes), max(args.sizes)
    print(f"\ntargets (the issue's 100,000 = {large:,} here, its 2,000 = {small:,}):\n")
    print(verdict_table(targets(results, mixed, servers, small, large)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: sorted(int(x) for x in s.split(",")),
        default=[2000, 20000, 100000],
        help="stored users, comma-separated",
    )
    parser.add_argument("--mode", choices=["serve", "production", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each phase")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument(
        "--mixed-rate", type=float, default=25.0, help="PATCH/s in the mix (Entra: 25 a tenant)"
    )
    parser.add_argument(
        "--mixed-max-seconds", type=float, default=150.0, help="bound of the resync phase"
    )
    parser.add_argument(
        "--web-workers", type=int, help="gunicorn processes (default: deploy/gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--group-members", type=int, default=GROUP_SIZE, help="members of the large group"
    )
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed-load phase")
    parser.add_argument(
        "--ops",
        type=lambda s: set(s.split(",")) - {""},
        help="measure only these operations (comma-separated; empty: none, the mix only)",
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="connector only (with --profile: no ratios)"
    )
    parser.add_argument(
        "--profile",
        type=lambda p: Path(p).resolve(),
        help="run connector serve with every request under cProfile; write pstats here",
    )
    parser.add_argument(
        "--profile-clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: waits count (locks, I/O); cpu: the request thread's CPU time",
    )
    parser.add_argument("--serve-profiled", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=2, metavar=("URL", "A:B"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_profiled:  # the profiled server's own process
        serve_profiled(int(args.serve_profiled[0]), args.serve_profiled[1], args.serve_profiled[2])
        return
    if args.load:  # the loader's own process
        a, b = (int(x) for x in args.load[1].split(":"))
        print(json.dumps(load_connector(args.load[0], a, b)))
        return

    def interrupted(signum: int, frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    results: dict[Key, Figures] = {}
    mixed: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scim-") as tmp:
        workdir = Path(tmp)
        procs = Processes(workdir)
        try:
            with _production_db(args.mode) as url:
                try:
                    hello = ceiling(procs, workdir, args)
                    procs.stop_all()
                    servers = [] if args.no_reference else [start_reference(procs)]
                    if args.mode in ("serve", "both"):
                        servers.append(
                            start_serve(procs, workdir, args.profile, args.profile_clock)
                        )
                    if url is not None:
                        servers.append(start_production(procs, workdir, url, args.web_workers))
                    log("servers ready: " + ", ".join(f"{s.name} :{s.port}" for s in servers))
                    for size in args.sizes:
                        load_all(servers, size)
                        for server in servers:
                            measure_size(server, size, args, results)
                    procs.stop("reference")  # idle from here on
                    if not args.no_mixed:
                        for server in [s for s in servers if s.name != REFERENCE]:
                            measure_mixed(server, args, mixed, max(args.sizes))
                            # a job cut short by --mixed-max-seconds must not run on
                            # beside the next server's measurements
                            procs.stop(*PROCESS_NAMES[server.name])
                finally:
                    procs.stop_all()  # before the database is dropped
            report(args, [s.name for s in servers], results, mixed, hello)
            if args.profile is not None and Path(f"{args.profile}.counts.json").exists():
                _print_profile(args.profile, args.profile_clock)
        except BaseException:
            for path in sorted(workdir.glob("*.log")):
                log(f"--- {path.name} (tail)\n{path.read_text(errors='replace')[-2000:]}")
            raise
        finally:
            procs.stop_all()


def _print_profile(path: Path, clock: str) -> None:
    """Per operation: where its time went by component (scim_report.components), then
    the functions of all operations added up."""
    import pstats

    counts = json.loads(Path(f"{path}.counts.json").read_text())
    per_op: dict[str, tuple[int, list[tuple[str, float]]]] = {}
    every: pstats.Stats | None = None
    for op, requests in counts.items():
        stats = pstats.Stats(f"{path}.{op}.pstats", stream=sys.stdout)
        own = [(f, fn, tt) for (f, _, fn), (_, _, tt, _, _) in stats.stats.items()]  # type: ignore[attr-defined]
        per_op[op] = (requests, components(own))
        if every is None:
            every = stats
        else:
            every.add(stats)
    what = (
        "CPU time of each request's thread"
        if clock == "cpu"
        else "wall time in each request's thread, so waits for the database's lock count"
    )
    print(f"\nprofile of connector serve ({path}.OP.pstats), {what}, by component:\n")
    print(component_table(per_op))
    if every is not None:
        print("\nall operations added up:")
        every.sort_stats("cumulative").print_stats(40)
        every.sort_stats("tottime").print_stats(25)


@contextmanager
def _production_db(mode: str) -> Iterator[str | None]:
    if mode == "serve":
        yield None
        return
    with postgres_database() as url:
        yield url


if __name__ == "__main__":
    main()
