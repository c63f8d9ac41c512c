"""/metrics, request ids and the log context: what an operator reads off a running connector."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector import logs, startup
from connector.ldap import run_service
from connector.logs import _JsonFormatter, _RedactingFormatter
from connector.services import jobs, tokens
from connector.web.app import create_app
from tests.conftest import Api
from tests.integration.ldap_support import PASSWORD_ENV, with_sources


def samples(client: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger's lines as the JSON formatter writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_requests_are_counted_by_route_not_by_raw_path(api: Api) -> None:
    user = api.create_user("metrics@example.com")
    before = samples(api.client)
    api.get(f"/users/{user['id']}")
    api.get("/users/no-such-user", expect=404)
    after = samples(api.client)
    route = "/api/v1/users/<user_id>"
    key = "connector_http_requests_total"
    assert (
        value(after, key, api="admin", route=route, method="GET", status="200")
        - value(before, key, api="admin", route=route, method="GET", status="200")
        == 1
    )
    assert (
        value(after, key, api="admin", route=route, method="GET", status="404")
        - value(before, key, api="admin", route=route, method="GET", status="404")
        == 1
    )
    assert not any(user["id"] in str(labels) for _, labels in after)
    assert (
        value(
            after,
            "connector_http_request_duration_seconds_count",
            api="admin",
            route=route,
            method="GET",
        )
        >= 2
    )


def test_scim_requests_are_counted_and_carry_the_source_in_the_log(
    api: Api, ctx: Any, json_log: io.StringIO
) -> None:
    secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="entra")
    )[1]

    @api.client.application.after_request
    def _probe(response: Any) -> Any:
        logging.getLogger("connector.probe").info("after the view")
        return response

    response = api.client.get(
        '/scim/v2/Users?filter=userName eq "x"',
        headers={"Authorization": f"Bearer {secret}", "X-Request-Id": "idp-req-1"},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "idp-req-1"
    found = samples(api.client)
    assert (
        value(
            found,
            "connector_http_requests_total",
            api="scim",
            route="/scim/v2/Users",
            method="GET",
            status="200",
        )
        >= 1
    )
    probe = [line for line in lines(json_log) if line["message"] == "after the view"]
    assert probe[0]["request_id"] == "idp-req-1" and probe[0]["source"] == "entra"
    assert secret not in json_log.getvalue()


def test_users_contacts_and_jobs_are_read_from_the_database(api: Api) -> None:
    api.create_user("a@example.com", sync=True)
    api.create_user("b@example.com", sync=True)
    api.create_user("c@example.com")
    api.post("/contacts", {"fields": {"firstName": "Manual"}}, expect=201)
    job = api.post("/contacts/resync", expect=202)
    api.wait_for_job(job["id"])
    found = samples(api.client)
    assert value(found, "connector_database_up") == 1
    assert value(found, "connector_users", source="local") == 3
    assert value(found, "connector_contacts", source="local") == 2
    assert value(found, "connector_contacts_unlinked") == 1
    assert value(found, "connector_jobs", kind="resync_contacts", state="done") == 1
    assert value(found, "connector_job_items_done", kind="resync_contacts", state="done") == 2


def test_metrics_answer_while_the_database_does_not(api: Api, ctx: Any) -> None:
    def refuse(*_a: Any, **_k: Any) -> Any:
        raise OSError("database down")

    original = ctx.run
    ctx.run = refuse  # type: ignore[method-assign]
    try:
        found = samples(api.client)
    finally:
        ctx.run = original  # type: ignore[method-assign]
    assert value(found, "connector_database_up") == 0


def test_request_id_is_echoed_or_made_and_is_on_every_line(api: Api, json_log: io.StringIO) -> None:
    app = api.client.application

    @app.get("/_log_probe")
    def _probe() -> str:
        logging.getLogger("connector.probe").info("probe")
        return "ok"

    response = api.client.get("/api/v1/users", headers={**api.headers, "X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    # A header that is not a plain token (it could carry anything) is replaced.
    hostile = "Bearer lsc_secretsecretsecret\nforged line"
    response = api.client.get(
        "/api/v1/users", headers={**api.headers, "X-Request-Id": hostile[:20]}
    )
    made = response.headers["X-Request-Id"]
    assert made != hostile[:20] and len(made) == 32
    response = api.client.post("/api/v1/users", json={"userName": 5}, headers=api.headers)
    assert response.status_code == 400
    assert len(response.headers["X-Request-Id"]) == 32
    # A line written inside a request carries its id.
    api.client.get("/_log_probe", headers={"X-Request-Id": "probe-1"})
    probe = [line for line in lines(json_log) if line["message"] == "probe"]
    assert probe and probe[0]["request_id"] == "probe-1"
    assert "request_id" not in logs.current()  # nothing leaks past the request


def test_job_lines_carry_the_job_id(api: Api, ctx: Any, json_log: io.StringIO) -> None:
    """jobs.run, which every runner calls, tags the lines written while it runs."""
    api.create_user("j@example.com", sync=True)
    job = ctx.run(lambda s: jobs.start(s, "test", jobs.RESYNC).id)
    probe = logging.getLogger("connector.probe")
    jobs.run(ctx, job, progress=lambda current: probe.info("progress %d", current.done))
    progress = [line for line in lines(json_log) if line["message"].startswith("progress")]
    assert progress and all(line["job_id"] == job for line in progress)
    assert "job_id" not in logs.current()


def test_ldap_runs_are_counted_and_their_lines_carry_source_and_run(
    settings: Any, monkeypatch: pytest.MonkeyPatch, json_log: io.StringIO
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "secret-bind-password")
    source = {
        "name": "down",
        "urls": ["ldap://127.0.0.1:9"],  # nothing listens: the run ends in error
        "bind_dn": "cn=admin,dc=example,dc=org",
        "bind_password_env": PASSWORD_ENV,
        "base_dn": "dc=example,dc=org",
        "timeouts": {"connect": 1, "receive": 1},
        "retries": 0,
        "poll": "off",
        "reconcile": "off",
    }
    ctx, runner = startup.start(with_sources(settings, source), upgrade=False)
    try:
        client = create_app(ctx, runner).test_client()
        before = samples(client)
        run = run_service.run_now(ctx, "down", "test")
        after = samples(client)
    finally:
        runner.shutdown()
        ctx.db.dispose()
    assert run["state"] == "error"
    key = "connector_ldap_runs_total"
    labels = {"source": "down", "kind": "poll", "outcome": "error"}
    assert value(after, key, **labels) - value(before, key, **labels) == 1
    assert (
        value(after, "connector_ldap_run_duration_seconds_count", source="down", kind="poll") >= 1
    )
    assert (
        value(after, "connector_ldap_last_run_end_timestamp_seconds", source="down", state="error")
        > 0
    )
    run_lines = [line for line in lines(json_log) if line.get("ldap_run_id") == run["id"]]
    assert run_lines and all(line["source"] == "down" for line in run_lines)
    assert "secret-bind-password" not in json_log.getvalue()


def test_secrets_in_context_fields_are_masked() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token lsc_abcdefghijkl", (), None)
    with logs.context(request_id="Bearer lsc_zyxwvutsrqpo", source="corp", job_id="j1"):
        as_json = json.loads(_JsonFormatter().format(record))
        as_text = _RedactingFormatter("%(message)s").format(record)
    assert as_json["request_id"] == "Bearer ***"
    assert as_json["message"] == "token lsc_***"
    assert (as_json["source"], as_json["job_id"]) == ("corp", "j1")
    assert "zyxwvutsrqpo" not in as_text and "abcdefghijkl" not in as_text
    assert "source=corp" in as_text
    with pytest.raises(ValueError, match="unknown log context field"), logs.context(password="x"):
        pass


def test_multi_process_mode_adds_up_every_process(tmp_path: Path) -> None:
    """Under gunicorn (PROMETHEUS_MULTIPROC_DIR set), any worker answers for all of them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    record = (
        "from connector import metrics\n"
        "metrics.http_request('admin', '/api/v1/users', 'GET', 200, 0.01)\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], env=env, check=True, timeout=60)
    show = (
        "import sys\n"
        "from connector import metrics\n"
        "from connector.services.stats import Stats\n"
        "sys.stdout.write(metrics.exposition(lambda: Stats()).decode())\n"
    )
    text = subprocess.run(
        [sys.executable, "-c", show],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    found = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    labels = {"api": "admin", "route": "/api/v1/users", "method": "GET", "status": "200"}
    assert value(found, "connector_http_requests_total", **labels) == 2


def test_metrics_under_gunicorn_add_up_every_worker_process(tmp_path: Path) -> None:
    """The documented web command (gunicorn -c deploy/gunicorn.conf.py) with
    PROMETHEUS_MULTIPROC_DIR: whichever process answers /metrics counts them all."""
    pytest.importorskip("gunicorn")
    from tests.support.live_server import free_port, server_env

    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "stale.db").write_bytes(b"left from an earlier run")  # emptied at start
    env = server_env(
        tmp_path,
        extra={
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "3",
            "GUNICORN_THREADS": "1",
            "GUNICORN_WORKER_TMP_DIR": str(tmp_path),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
    )
    root = Path(__file__).resolve().parents[2]
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "connector"), "db", "upgrade"], env=env, check=True, timeout=60)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(bin_dir / "gunicorn"), "-c", str(root / "deploy" / "gunicorn.conf.py")],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            assert server.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        requests = 30
        for _ in range(requests):  # unauthenticated: 401, counted all the same
            try:
                urllib.request.urlopen(f"{base}/api/v1/settings", timeout=5)
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
        pids = set()
        for _ in range(6):
            with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
                text = response.read().decode()
            found = {
                (s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
            }
            labels = {
                "api": "admin",
                "route": "/api/v1/settings",
                "method": "GET",
                "status": "401",
            }
            assert value(found, "connector_http_requests_total", **labels) == requests
            pids.update(p.name for p in metrics_dir.glob("*.db"))
        # The counters live in the shared directory (emptied at start), not in one process.
        assert "stale.db" not in pids and any(p.startswith("counter_") for p in pids), pids
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
