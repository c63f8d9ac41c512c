"""LDAP runs through the admin API, the CLI and the scheduler; the per-source lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from connector import startup
from connector.ldap import locks, run_service
from connector.scheduler import JobRunner
from connector.services import tokens
from connector.web.app import create_app
from tests.conftest import Api
from tests.integration.ldap_support import (
    PASSWORD_ENV,
    Directory,
    context,
    source_config,
    with_sources,
)
from tests.support.slapd import SlapdServer


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch, slapd: SlapdServer) -> None:
    monkeypatch.setenv(PASSWORD_ENV, slapd.admin_password)


@pytest.fixture
def directory(slapd: SlapdServer, people_dn: str) -> Directory:
    return Directory(slapd, people_dn)


@pytest.fixture
def ldap_api(settings, slapd, directory) -> Any:
    cfg = source_config(slapd, directory.base, poll="off", reconcile="off")
    ctx, runner = startup.start(with_sources(settings, cfg), upgrade=False)
    token = ctx.run(lambda s: tokens.create(s, "test", name="t", kind=tokens.ADMIN))[1]
    yield Api(create_app(ctx, runner).test_client(), token)
    runner.shutdown()
    ctx.db.dispose()


def wait_for_run(api: Api, run_id: int, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = next(r for r in api.get("/sources/corp/runs")["items"] if r["id"] == run_id)
        if run["state"] not in run_service.UNFINISHED:
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def test_api_sync_runs_sources_and_confirm(ldap_api: Api, directory: Directory) -> None:
    for i in range(4):
        directory.add(f"a{i}")
    started = ldap_api.post("/sources/corp/sync", {}, expect=202)
    assert started["source"] == "corp"
    done = wait_for_run(ldap_api, started["id"])
    assert (done["state"], done["created"], done["kind"]) == ("ok", 4, "full")
    for key in ("start", "end", "read", "created", "updated", "deleted", "unchanged"):
        assert key in done
    assert {"suppressed", "errors"} <= set(done)

    listed = {s["name"]: s for s in ldap_api.get("/sources")["items"]}
    assert listed["corp"]["kind"] == "ldap" and listed["corp"]["lastRun"]["id"] == done["id"]
    assert listed["corp"]["syncScope"] is True
    assert "lastRun" not in listed["local"]

    ldap_api.post("/sources/corp/sync", {"full": "yes"}, expect=400)
    ldap_api.post("/sources/nope/sync", {}, expect=404)
    ldap_api.post("/sources/local/sync", {}, expect=404)

    for i in range(4):
        directory.delete(f"a{i}")
    blocked = wait_for_run(ldap_api, ldap_api.post("/sources/corp/sync", {"full": True})["id"])
    assert (blocked["state"], blocked["wouldDelete"]) == ("blocked", 4)
    assert ldap_api.get("/users", source="corp")["total"] == 4
    started = ldap_api.post(f"/sources/corp/runs/{blocked['id']}/confirm", expect=202)
    confirmed = wait_for_run(ldap_api, started["id"])
    assert (confirmed["kind"], confirmed["state"], confirmed["deleted"]) == ("full", "ok", 4)
    assert ldap_api.get("/users", source="corp")["total"] == 0
    ldap_api.post(f"/sources/corp/runs/{blocked['id']}/confirm", expect=409)
    ldap_api.post("/sources/corp/runs/99999/confirm", expect=404)


def test_synchronize_users_polls_their_directory(ldap_api: Api, directory: Directory) -> None:
    directory.add("sync1", givenName="Before")
    wait_for_run(ldap_api, ldap_api.post("/sources/corp/sync", {}, expect=202)["id"])
    user = ldap_api.get("/users", source="corp")["items"][0]
    directory.modify("sync1", givenName="After")
    answer = ldap_api.post("/users/sync", {"ids": [user["id"]]}, expect=200)
    assert answer["synced"] == [user["id"]]
    [started] = answer["ldapRuns"]
    assert wait_for_run(ldap_api, started["run"])["updated"] == 1
    assert ldap_api.get(f"/users/{user['id']}")["name"]["givenName"] == "After"


def test_source_lock_is_exclusive_and_a_locked_source_is_skipped(
    settings, slapd, directory
) -> None:
    ctx = context(with_sources(settings, source_config(slapd, directory.base)))
    try:
        with locks.source_lock(ctx.db, "corp") as first:
            with locks.source_lock(ctx.db, "corp") as second:
                assert first is True and second is False
            with locks.source_lock(ctx.db, "other") as other:
                assert other is True
            run_id = run_service.queue(ctx, "corp", "test")
            assert run_service.execute(ctx, run_id)["state"] == "skipped"
        with locks.source_lock(ctx.db, "corp") as again:
            assert again is True
    finally:
        ctx.db.dispose()


def test_scheduler_has_one_job_per_source_and_kind_and_stops_cleanly(
    settings, slapd, directory
) -> None:
    directory.add("s1")
    cfg = source_config(slapd, directory.base, poll="every 10m", reconcile="cron 0 2 * * *")
    other = source_config(slapd, directory.base, name="other", poll="off", reconcile="every 1h")
    ctx = context(with_sources(settings, cfg, other))
    runner = JobRunner(ctx)
    try:
        runner.start()
        jobs = {j.id: j for j in runner.scheduler.get_jobs()}
        assert {"ldap-corp-poll", "ldap-corp-full", "ldap-other-full"} <= set(jobs)
        assert "ldap-other-poll" not in jobs
        assert jobs["ldap-corp-poll"].max_instances == 1 and jobs["ldap-corp-poll"].coalesce
        runner._ldap_run("corp", False, None)
        assert ctx.run(lambda s: run_service.list_runs(s, "corp"))[0]["state"] == "ok"
        runner.stopping.set()  # shutting down: a run stops after its page, deleting nothing
        runner._ldap_run("corp", True, None)
        stopped = ctx.run(lambda s: run_service.list_runs(s, "corp"))[0]
        assert stopped["state"] == "error" and "shutting down" in stopped["message"]
    finally:
        runner.shutdown()
        ctx.db.dispose()
    assert not runner.scheduler.running


def test_cli_sync_and_confirm_deletes(
    settings, slapd, directory, tmp_path: Path, database_url: str
) -> None:
    for i in range(3):
        directory.add(f"c{i}")
    config = tmp_path / "connector.toml"
    config.write_text(
        f"""
[database]
url = "{database_url}"

[[sources.ldap]]
name = "corp"
urls = ["{slapd.url}"]
bind_dn = "{slapd.admin_dn}"
bind_password_env = "{PASSWORD_ENV}"
base_dn = "{directory.base}"
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update({"CONNECTOR_CONFIG": str(config), PASSWORD_ENV: slapd.admin_password})

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "connector.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = cli("sync", "--source", "corp")
    assert first.returncode == 0, first.stderr
    assert "(full) ok: 3 read, 3 created" in first.stdout
    assert "corp: 3 read" in first.stderr  # progress
    assert slapd.admin_password not in first.stdout + first.stderr

    for i in range(3):
        directory.delete(f"c{i}")
    blocked = cli("sync", "--full")
    assert blocked.returncode == 1 and "blocked" in blocked.stdout
    run_id = blocked.stdout.split("--confirm-deletes ")[1].split()[0]
    confirmed = cli("sync", "--source", "corp", "--confirm-deletes", run_id)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert "3 deleted" in confirmed.stdout
    assert cli("sync", "--source", "nope").returncode == 1
