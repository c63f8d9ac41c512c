"""The ``connector`` command as an admin runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from connector.config import Settings
from connector.services import jobs
from connector.services.context import Context
from connector.web.app import create_app

CONNECTOR = [sys.executable, "-m", "connector.cli"]


def _run(args: list[str], env: dict[str, str], check: bool = True, timeout: float = 120):
    result = subprocess.run(
        [*CONNECTOR, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    return {**clean, "CONNECTOR_DATA_DIR": str(tmp_path / "data")}


def test_bad_config_file_names_file_key_and_expectation_and_touches_nothing(env, tmp_path):
    bad = tmp_path / "connector.toml"
    bad.write_text('[server]\nport = "eighty"\n')
    env["CONNECTOR_CONFIG"] = str(bad)
    for args in (["config", "check"], ["db", "upgrade"], ["token", "create", "--admin"]):
        result = _run(args, env, check=False)
        assert result.returncode == 2
        assert str(bad) in result.stderr
        assert "server.port" in result.stderr and "integer" in result.stderr
    assert not (tmp_path / "data").exists()


def test_unknown_key_and_missing_file(env, tmp_path):
    typo = tmp_path / "typo.toml"
    typo.write_text("[databse]\nurl = 'x'\n")
    env["CONNECTOR_CONFIG"] = str(typo)
    result = _run(["config", "check"], env, check=False)
    assert result.returncode == 2 and "'databse' is not a known setting" in result.stderr
    env["CONNECTOR_CONFIG"] = str(tmp_path / "absent.toml")
    result = _run(["config", "check"], env, check=False)
    assert result.returncode == 2 and "absent.toml: configuration file not found" in result.stderr


def test_config_check_accepts_the_example_file(env):
    env["CONNECTOR_CONFIG"] = str(Path(__file__).parents[2] / "config/connector.example.toml")
    result = _run(["config", "check"], env)
    assert "configuration OK" in result.stdout


def test_token_created_by_the_cli_opens_the_api(env, database_url, settings: Settings):
    env["CONNECTOR_DATABASE_URL"] = database_url
    result = _run(["token", "create", "--admin"], env)
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("lsc_")
    assert token not in result.stderr
    ctx = Context.from_settings(settings)  # the command wrote the defaults
    try:
        client = create_app(ctx).test_client()
        ok = client.get("/api/v1/settings", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    finally:
        ctx.db.dispose()
    scim = _run(["token", "create", "--source", "entra"], env)
    assert scim.stdout.strip().splitlines()[-1].startswith("lsc_")
    assert "created SCIM token 'entra' for source 'entra'" in scim.stderr
    named = _run(["token", "create", "--source", "entra", "--name", "entra-2"], env)
    assert "created SCIM token 'entra-2' for source 'entra'" in named.stderr
    again = _run(["token", "create", "--source", "entra"], env, check=False)
    assert again.returncode == 1 and "a token named 'entra' already exists" in again.stderr
    assert again.stdout == ""
    bad = _run(["token", "create", "--source", "bad name!"], env, check=False)
    assert bad.returncode == 1 and "source name 'bad name!' is not valid" in bad.stderr
    assert _run(["token", "create"], env, check=False).returncode == 2


def test_contacts_resync_reports_progress(env, tmp_path):
    from connector.services import sources, users
    from connector.services.context import Context

    _run(["db", "upgrade"], env)
    settings = Settings.model_validate({"data_dir": str(tmp_path / "data")})
    ctx = Context.from_settings(settings)

    def create(session):
        local = sources.get_or_create(session, "local", "local")
        for i in range(3):
            users.create(session, "test", local, {"userName": f"p{i}"}, sync_to_contact=True)

    ctx.run(create)
    ctx.db.dispose()
    result = _run(["contacts", "resync"], env)
    assert "3/3 contacts" in result.stderr
    assert "done; 3 linked contacts checked, 0 changed, 0 errors" in result.stdout


def _users_to_resync(env: dict[str, str], tmp_path: Path, count: int) -> None:
    """``count`` synchronised users, and a configuration that resyncs one per batch."""
    from connector.services import sources, users

    config = tmp_path / "connector.toml"
    config.write_text("[jobs]\nbatch_size = 1\n", encoding="utf-8")
    env["CONNECTOR_CONFIG"] = str(config)
    _run(["db", "upgrade"], env)
    settings = Settings.model_validate({"data_dir": str(tmp_path / "data")})
    ctx = Context.from_settings(settings)

    def create(session):
        local = sources.get_or_create(session, "local", "local")
        for i in range(count):
            users.create(session, "test", local, {"userName": f"p{i}"}, sync_to_contact=True)

    ctx.run(create)
    ctx.db.dispose()


def test_progress_into_a_log_is_plain_lines_at_a_bounded_rate(env, tmp_path):
    _users_to_resync(env, tmp_path, 40)
    result = _run(["contacts", "resync"], env)  # stderr is a pipe, not a terminal
    assert "\r" not in result.stderr
    progress = [line for line in result.stderr.splitlines() if "contacts, " in line]
    assert 2 <= len(progress) <= 12, progress  # 40 batches: one line per tenth at most
    assert progress[-1].endswith("40/40 contacts, 0 changed")
    assert "done; 40 linked contacts checked" in result.stdout


def test_progress_on_a_terminal_is_redrawn_in_place(env, tmp_path):
    import pty

    _users_to_resync(env, tmp_path, 5)
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [*CONNECTOR, "contacts", "resync"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
        )
        os.close(follower)
        follower = -1
        written = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            written += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert done.returncode == 0
    text = written.decode()
    assert text.count("\r[") >= 5 and "5/5 contacts" in text
    assert "\n" not in text.rstrip("\r\n")  # one line, redrawn


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_on_the_embedded_default(env, tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [*CONNECTOR, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                time.sleep(0.2)
        assert body == {"status": "ok"}
        assert (tmp_path / "data" / "connector.db").exists()
    finally:
        process.terminate()
        out, err = process.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}" in out
    assert _frozen_startup_heap(err) > 10_000, err


def _frozen_startup_heap(log_text: str) -> int:
    """How many objects a serving process froze once started (connector/startup_heap.py);
    0 when it says nothing of it."""
    found = re.search(r"startup heap: (\d+) objects kept out of full garbage collections", log_text)
    return int(found.group(1)) if found else 0


def test_the_wsgi_app_freezes_its_startup_heap(env):
    """gunicorn's workers import connector.web.wsgi; the objects it leaves are frozen."""
    code = "import gc, connector.web.wsgi; print(gc.get_freeze_count())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "CONNECTOR_MIGRATE": "true", "CONNECTOR_SCHEDULER": "off"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    still_frozen = int(result.stdout.strip().splitlines()[-1])  # some were freed since
    assert 10_000 < still_frozen <= _frozen_startup_heap(result.stderr), result.stderr


def test_worker_waits_for_the_migrator_then_works_and_stops_cleanly_on_sigterm(env, tmp_path):
    """`connector worker` does not migrate: on an empty database it says what to run and
    waits; after `connector db upgrade` it runs queued jobs; SIGTERM stops it (exit 0).
    With --metrics-port it serves its own metrics (a worker has no other HTTP)."""
    log = tmp_path / "worker.log"
    metrics_port = _free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [*CONNECTOR, "worker", "--metrics-port", str(metrics_port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        needs = "database schema is at no revision (empty database), this version needs"
        deadline = time.monotonic() + 30
        while needs not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert "run `connector db upgrade`" in log.read_text()
        time.sleep(1.5)  # a few polls later: said once, nothing migrated
        assert log.read_text().count(needs) == 1
        _run(["db", "upgrade"], env)
        ctx = Context.from_settings(Settings.model_validate({"data_dir": str(tmp_path / "data")}))
        try:
            job_id = ctx.run(lambda s: jobs.start(s, "test", jobs.RESYNC).id)
            deadline = time.monotonic() + 30
            while ctx.run(lambda s: jobs.get(s, job_id).state) != "done":
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert ctx.run(lambda s: jobs.get(s, job_id).claimed_by or "").split(":")[1] == str(
                process.pid
            )
        finally:
            ctx.db.dispose()
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            assert r.status == 200
            assert "connector_ldap_runs_total" in r.read().decode()
        process.terminate()
        assert process.wait(timeout=20) == 0, log.read_text()
        assert "stopped" in log.read_text()
        assert _frozen_startup_heap(log.read_text()) > 10_000, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
