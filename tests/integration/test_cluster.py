"""The production shape on one PostgreSQL: two web replicas and two workers.

Two web-only processes run the WSGI app under gunicorn with deploy/gunicorn.conf.py,
started as that file documents; two `connector worker` processes run jobs and an
LDAP source's schedule; `connector db upgrade` migrated the fresh database. The
test shows: a resync requested through one replica runs once, its progress read
through the other; `kill -9` of the worker holding the job mid-job hands the job
to the other worker within the lease (+ a margin), nothing lost and nothing written
twice; the workers never ran the job or the LDAP source at the same time; `/livez`
and `/readyz` answer on both replicas, and `/readyz` is 503 on a replica whose
database does not answer or whose schema is behind.

`/metrics` answers in Prometheus text format on both replicas. Every wait is
bounded; every process is killed in a ``finally``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from connector import startup
from connector.config import Settings, sources_model
from connector.db.engine import Database
from connector.db.models import AuditEvent, Contact, Job, Source, SyncRun
from connector.services import users as user_service
from connector.services.context import Context
from tests.conftest import fresh_database
from tests.integration.ldap_support import PASSWORD_ENV, Directory, source_config
from tests.support.live_server import REPO_ROOT, free_port, server_env
from tests.support.slapd import SlapdServer

pytestmark = pytest.mark.postgres

USERS = 400
BATCH = 2  # rows per batch: the job lasts long enough to be killed in the middle
LEASE = 3.0  # seconds: jobs.lease_seconds of the workers
TAKEOVER_MARGIN = 10.0  # seconds past the lease within which the other worker must claim
START_TIMEOUT = 30.0
JOB_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0
LDAP_EVERY = 10  # seconds (the shortest interval a schedule allows)
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
ROW = {"userField": "name.givenName", "contactField": "firstName"}


class Process:
    """A child process with its log; killed (its whole process group) when stopped."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path, cwd: Path):
        self.name, self.log = name, log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: gunicorn's workers go with it
                close_fds=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)

    def terminate(self) -> int | None:
        """SIGTERM, bounded wait; the exit code, or None if it had to be killed."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            return None

    def stop(self) -> None:
        """Kill the process group, whatever state it is in."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_TIMEOUT)


class Web:
    """A web replica: gunicorn -c deploy/gunicorn.conf.py on a loopback port."""

    def __init__(self, process: Process, port: int) -> None:
        self.process, self.base = process, f"http://127.0.0.1:{port}"
        self.token = ""
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)

    def text(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.status, response.read().decode()

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.proc.poll() is None, self.process.tail()
            try:
                if self.get("/livez")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"no answer on /livez within {START_TIMEOUT} s\n{self.process.tail()}")


def wait_for(what: str, check: Callable[[], Any], timeout: float, logs: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s\n{logs()}")
        time.sleep(0.05)


def test_two_web_replicas_and_two_workers_share_the_work(
    tmp_path: Path, slapd: SlapdServer, people_dn: str
) -> None:
    processes: list[Process] = []
    contexts: list[Context] = []
    directory = Directory(slapd, people_dn)
    for uid in ("ann", "bob", "cy"):
        directory.add(uid)
    ldap = source_config(
        slapd, directory.base, poll=f"every {LDAP_EVERY}s", reconcile="off", sync_to_contact=False
    )
    config = tmp_path / "connector.toml"
    config.write_text(
        f"[jobs]\nbatch_size = {BATCH}\nlease_seconds = {LEASE}\npoll_seconds = 0.5\n\n"
        "[[sources.ldap]]\n"
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in ldap.items() if k != "timeouts")
        + "[sources.ldap.timeouts]\n"
        + "".join(f"{k} = {v}\n" for k, v in ldap["timeouts"].items())
    )

    def logs() -> str:
        return "\n".join(p.tail() for p in processes)

    def env(url: str, **extra: str) -> dict[str, str]:
        return server_env(
            tmp_path, database_url=url, extra={PASSWORD_ENV: slapd.admin_password, **extra}
        )

    def cli(url: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "connector.cli", *args],
            env=env(url),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def web(name: str, url: str) -> Web:
        port = free_port()
        runtime = tmp_path / f"{name}-run"
        runtime.mkdir(mode=0o700)
        extra = {
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_WORKER_TMP_DIR": str(tmp_path),
            # gunicorn >= 25 puts a control socket there (else in $HOME): one per replica.
            "XDG_RUNTIME_DIR": str(runtime),
        }
        # The command deploy/gunicorn.conf.py documents, from the project's folder.
        process = Process(
            name,
            [GUNICORN, "-c", "deploy/gunicorn.conf.py"],
            env(url, **extra),
            tmp_path / f"{name}.log",
            REPO_ROOT,
        )
        processes.append(process)
        return Web(process, port)

    def worker(name: str, url: str) -> Process:
        process = Process(
            name,
            [sys.executable, "-m", "connector.cli", "worker"],
            env(url),
            tmp_path / f"{name}.log",
            tmp_path,
        )
        processes.append(process)
        return process

    with (
        fresh_database("postgresql", tmp_path) as url,
        fresh_database("postgresql", tmp_path) as old_url,
    ):
        try:
            cli(url, "db", "upgrade")  # the production migrator, once
            previous = Database(old_url)
            previous.upgrade("0009")  # a database the previous release migrated
            head = previous.schema_status().head  # this code's newest migration
            previous.dispose()
            web_a, web_b = web("web-a", url), web("web-b", url)
            nowhere = make_url(url).set(port=free_port()).render_as_string(hide_password=False)
            unreachable = web("web-unreachable", nowhere)
            behind = web("web-behind", old_url)
            workers = [worker("worker-1", url), worker("worker-2", url)]
            for replica in (web_a, web_b, unreachable, behind):
                replica.wait_until_up()

            # /livez and /readyz on both replicas; /readyz is 503 where it must be.
            for replica in (web_a, web_b):
                assert replica.get("/livez") == (200, {"status": "ok"})
                wait_for("ready", lambda r=replica: r.get("/readyz")[0] == 200, START_TIMEOUT, logs)
            assert unreachable.get("/livez")[0] == 200
            assert unreachable.get("/readyz") == (
                503,
                {"status": "unavailable", "message": "the database does not answer"},
            )
            assert behind.get("/livez")[0] == 200
            status, body = behind.get("/readyz")
            needs = (
                f"database schema is at 0009, this version needs {head}: run `connector db upgrade`"
            )
            assert (status, body["message"]) == (503, needs)
            for _ in range(4):
                assert behind.get("/readyz")[0] == 503
            said = behind.process.log.read_text().count(needs)
            assert 1 <= said <= 2, behind.process.tail()  # once per gunicorn worker at most
            for replica in (web_a, web_b):
                status, exposition = replica.text("/metrics")
                assert status == 200
                assert "connector_http_requests_total" in exposition

            # Data: users with contacts, written in-process on the same database.
            settings = Settings.model_validate(
                {"data_dir": str(tmp_path / "data"), "database": {"url": url}}
            ).model_copy(update={"sources": sources_model().model_validate({"ldap": [ldap]})})
            ctx = startup.open_context(settings, upgrade=False)
            contexts.append(ctx)

            def create_users(session: Any) -> None:
                local = session.scalars(select(Source).where(Source.name == "local")).one()
                for i in range(USERS):
                    resource = {"userName": f"u{i}@example.com", "name": {"givenName": f"G{i}"}}
                    user_service.create(session, "test", local, resource, sync_to_contact=True)

            ctx.run(create_users)
            web_a.token = web_b.token = cli(url, "token", "create", "--admin").strip()
            assert web_a.call("PUT", "/api/v1/mapping", {"rows": [ROW]})[0] == 200

            # A resync requested through replica A, followed through replica B.
            status, job = web_a.call("POST", "/api/v1/contacts/resync")
            assert status == 202, job
            job_id = job["id"]

            def held() -> Job | None:
                found = ctx.run(lambda s: s.get(Job, job_id))
                return found if found and found.claimed_by and found.done > 0 else None

            holding = wait_for("a worker claims the job", held, START_TIMEOUT, logs)
            pid = int(holding.claimed_by.split(":")[1])
            [victim] = [w for w in workers if w.pid == pid]
            survivor = next(w for w in workers if w is not victim)
            progress = web_b.get(f"/api/v1/jobs/{job_id}")[1]
            assert progress["state"] == "running" and 0 < progress["done"] < progress["total"]
            victim.kill9()
            killed_at = datetime.now(UTC)
            during = web_b.get(f"/api/v1/jobs/{job_id}")[1]
            assert during["state"] == "running" and during["done"] < USERS, during

            def finished() -> dict[str, Any] | None:
                current = web_b.get(f"/api/v1/jobs/{job_id}")[1]
                return current if current["state"] not in ("queued", "running") else None

            done = wait_for("the other worker finishes the job", finished, JOB_TIMEOUT, logs)
            assert (done["state"], done["done"], done["total"]) == ("done", USERS, USERS), done
            assert done["changed"] == USERS

            def audit(action: str) -> list[AuditEvent]:
                return ctx.run(
                    lambda s: list(
                        s.scalars(
                            select(AuditEvent)
                            .where(AuditEvent.action == action)
                            .order_by(AuditEvent.id)
                        )
                    )
                )

            # One job; two claims in turn: the victim's, then the survivor's after the
            # victim's lease ran out (never both at once), within lease + margin.
            assert len(audit("job.resync_contacts")) == 1
            claims = audit("job.claim")
            assert [c.object_id for c in claims] == [job_id, job_id]
            assert [int(c.actor.split(":")[1]) for c in claims] == [victim.pid, survivor.pid]
            takeover = claims[1].at
            assert killed_at <= takeover <= killed_at + timedelta(seconds=LEASE + TAKEOVER_MARGIN)
            assert claims[1].before["claimedBy"] == claims[0].actor
            # Nothing lost (every contact remapped), nothing written twice.
            writes = Counter(c.object_id for c in audit("contact.update"))
            contacts = ctx.run(lambda s: list(s.scalars(select(Contact))))
            assert len(contacts) == USERS
            assert writes == Counter({c.id: 1 for c in contacts})
            assert sorted(c.fields["firstName"] for c in contacts) == sorted(
                f"G{i}" for i in range(USERS)
            )

            # The LDAP source: one run per schedule firing, never two at a time.
            def two_runs() -> list[SyncRun] | None:
                runs = ctx.run(lambda s: list(s.scalars(select(SyncRun).order_by(SyncRun.id))))
                finished_runs = [r for r in runs if r.finished_at is not None]
                return runs if len(finished_runs) >= 2 and len(finished_runs) == len(runs) else None

            runs = wait_for("two scheduled LDAP runs", two_runs, 3 * LDAP_EVERY + 10, logs)
            slots = Counter(int(r.started_at.timestamp()) // LDAP_EVERY for r in runs)
            assert max(slots.values()) == 1, [(r.id, r.started_at, r.state) for r in runs]
            for earlier, later in itertools.pairwise(runs):
                assert earlier.finished_at is not None
                assert earlier.finished_at <= later.started_at, (earlier.id, later.id)
            assert {r.state for r in runs} <= {"ok", "error"}, [(r.id, r.message) for r in runs]

            # A worker stops cleanly on SIGTERM.
            assert survivor.terminate() == 0, survivor.tail()
        finally:
            for ctx in contexts:
                ctx.db.dispose()
            for process in processes:
                process.stop()
