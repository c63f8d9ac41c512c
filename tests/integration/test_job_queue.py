"""Jobs as a queue in the database, shared by any number of workers; readiness.

A job queued by a web-only process waits in the database for a worker; a worker
claims it with a lease; a job whose worker died is taken over and resumes after
its last batch; a worker that lost its lease writes nothing more; each scheduled
LDAP firing runs once across runners. Processes that do not migrate are not ready
against an older schema. SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from connector import startup
from connector.config import Settings
from connector.db.engine import Database
from connector.db.models import AuditEvent, Job, Source, SyncRun
from connector.scheduler import JobRunner, LeaseKeeper, run_claimed
from connector.services import jobs, tokens
from connector.services.context import Context
from connector.web.app import create_app
from tests.conftest import Api, fresh_database
from tests.integration.ldap_support import with_sources

ROW = {"userField": "name.givenName", "contactField": "firstName"}


def _with(settings: Settings, **sections: dict[str, Any]) -> Settings:
    update_ = {k: getattr(settings, k).model_copy(update=v) for k, v in sections.items()}
    return settings.model_copy(update=update_)


@pytest.fixture
def web(settings: Settings) -> Iterator[tuple[Context, Api]]:
    """A web-only process (scheduler off), as a replica runs: its context and API."""
    ctx, runner = startup.start(_with(settings, scheduler={"enabled": False}), upgrade=False)
    token = ctx.run(lambda s: tokens.create(s, "test", name="t", kind=tokens.ADMIN))[1]
    yield ctx, Api(create_app(ctx, runner).test_client(), token)
    runner.shutdown()
    ctx.db.dispose()


def _users(api: Api, n: int) -> list[dict[str, Any]]:
    users = [
        api.create_user(f"q{i}@example.com", sync=True, name={"givenName": f"G{i}"})
        for i in range(n)
    ]
    api.put("/mapping", {"rows": [ROW]}, expect=200)
    return users


def _updates_per_contact(ctx: Context) -> Counter[str]:
    return Counter(
        ctx.run(
            lambda s: list(
                s.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "contact.update"))
            )
        )
    )


def _job(ctx: Context, job_id: str) -> Job:
    return ctx.run(lambda s: jobs.get(s, job_id))


def _expire(ctx: Context, job_id: str) -> None:
    """The holder's lease runs out (as when its worker died and stopped renewing)."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    ctx.run(lambda s: s.execute(update(Job).where(Job.id == job_id).values(lease_until=past)))


def test_a_job_queued_by_a_web_only_process_waits_for_a_worker_that_runs_it_once(
    web: tuple[Context, Api], settings: Settings
) -> None:
    ctx, api = web
    users = _users(api, 5)
    job = api.post("/contacts/resync", expect=202)
    time.sleep(1.5)  # longer than a runner's poll: nobody in this process runs it
    waiting = _job(ctx, job["id"])
    assert (waiting.state, waiting.claimed_by, waiting.done) == ("queued", None, 0)
    assert api.post("/contacts/resync", expect=202)["id"] == job["id"]  # the same job, queued

    worker = JobRunner(Context.from_settings(settings), enabled=True)
    worker.start()
    try:
        done = api.wait_for_job(job["id"])
    finally:
        worker.shutdown()
        worker.ctx.db.dispose()
    assert (done["state"], done["done"], done["changed"]) == ("done", 5, 5)
    finished = _job(ctx, job["id"])
    assert (finished.claimed_by, finished.claims) == (worker.worker, 1)
    assert _updates_per_contact(ctx) == Counter({u["contactId"]: 1 for u in users})
    assert api.post("/contacts/resync", expect=202)["id"] != job["id"]


def test_a_job_whose_worker_died_is_taken_over_and_resumes_after_its_last_batch(
    web: tuple[Context, Api],
) -> None:
    ctx, api = web
    users = _users(api, 7)  # batches of 3 (test settings)
    job_id = api.post("/contacts/resync", expect=202)["id"]
    first, second = jobs.Lease("first", 30), jobs.Lease("second", 30)
    assert ctx.run(lambda s: jobs.claim(s, first)) == job_id
    ctx.run(lambda s: jobs._resync_batch(s, jobs._held(s, job_id, first), 3))
    # The first worker dies here. While its lease lasts nobody else takes the job.
    assert ctx.run(lambda s: jobs.claim(s, second)) is None
    _expire(ctx, job_id)
    assert ctx.run(lambda s: jobs.claim(s, second)) == job_id
    # Had the first worker only stalled, its next batch finds it lost the job.
    with pytest.raises(jobs.LeaseLost):
        jobs.run(ctx, job_id, lease=first)
    assert _job(ctx, job_id).done == 3
    finished = run_claimed(ctx, job_id, second)
    assert (finished.state, finished.done, finished.changed) == ("done", 7, 7)
    assert _updates_per_contact(ctx) == Counter({u["contactId"]: 1 for u in users})
    claims = ctx.run(
        lambda s: [
            (e.actor, e.before["done"])
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.action == "job.claim").order_by(AuditEvent.id)
            )
        ]
    )
    assert claims == [("first", 0), ("second", 3)]


def test_a_worker_that_stops_gives_the_job_back_after_its_batch(
    web: tuple[Context, Api],
) -> None:
    ctx, api = web
    _users(api, 7)
    job_id = api.post("/contacts/resync", expect=202)["id"]
    leaving, staying = jobs.Lease("leaving", 30), jobs.Lease("staying", 30)
    assert ctx.run(lambda s: jobs.claim(s, leaving)) == job_id
    stop = threading.Event()
    stop.set()
    stopped = run_claimed(ctx, job_id, leaving, stop=stop)
    assert (stopped.state, stopped.done) == ("running", 3)
    released = _job(ctx, job_id)
    assert (released.claimed_by, released.lease_until) == (None, None)
    assert ctx.run(lambda s: jobs.claim(s, staying)) == job_id  # at once, not after a lease
    assert run_claimed(ctx, job_id, staying).done == 7


def test_a_running_job_renews_its_lease_on_a_timer(web: tuple[Context, Api]) -> None:
    ctx, api = web
    job_id = api.post("/contacts/resync", expect=202)["id"]
    lease = jobs.Lease("slow", 1.5)
    assert ctx.run(lambda s: jobs.claim(s, lease)) == job_id
    claimed_until = _job(ctx, job_id).lease_until
    assert claimed_until is not None
    with LeaseKeeper(ctx, job_id, lease):
        time.sleep(1.2)  # two renewals (every third of the lease)
        renewed_until = _job(ctx, job_id).lease_until
    assert renewed_until is not None and renewed_until > claimed_until


def test_each_scheduled_ldap_firing_runs_once_across_runners(settings: Settings) -> None:
    source = {
        "name": "corp",
        "urls": ["ldap://127.0.0.1:1"],
        "base_dn": "dc=example,dc=org",
        "poll": "off",
        "reconcile": "off",
        "retries": 0,
        "timeouts": {"connect": 1},
    }
    configured = with_sources(settings, source)
    contexts = [startup.open_context(configured, upgrade=False) for _ in range(2)]
    runners = [JobRunner(c, enabled=False) for c in contexts]
    try:
        slot = datetime.now(UTC).replace(microsecond=0)

        def fire(runner: JobRunner, at: datetime) -> None:
            runner._ldap_run("corp", False, None, slot=at)

        both = [threading.Thread(target=fire, args=(r, slot)) for r in runners]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join(timeout=30)
        runs = contexts[0].run(lambda s: len(s.scalars(select(SyncRun)).all()))
        assert runs == 1
        fire(runners[1], slot)  # a runner whose clock reached the slot late
        assert contexts[0].run(lambda s: len(s.scalars(select(SyncRun)).all())) == 1
        fire(runners[1], datetime.now(UTC) + timedelta(seconds=1))  # the next firing
        assert contexts[0].run(lambda s: len(s.scalars(select(SyncRun)).all())) == 2
    finally:
        for c in contexts:
            c.db.dispose()


# ---------------------------------------------------------------- readiness


def test_a_process_against_an_older_schema_is_not_ready_says_so_once_and_claims_nothing(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"
    with fresh_database(backend, tmp_path) as url:
        previous = Database(url)
        previous.upgrade("0009")  # the previous release's schema
        head = previous.schema_status().head  # this code's newest migration
        previous.dispose()
        old = _with(settings, database={"url": url})
        caplog.set_level(logging.ERROR, logger="connector.readiness")
        ctx, runner = startup.start(old, upgrade=False)  # a worker's runner: enabled
        try:
            client = create_app(ctx, runner).test_client()
            assert client.get("/livez").status_code == 200
            for _ in range(3):
                response = client.get("/readyz")
                assert response.status_code == 503
            message = response.get_json()["message"]
            assert message == (
                f"database schema is at 0009, this version needs {head}: run `connector db upgrade`"
            )
            runner.work_queue()  # the runner's poll: waits, claims nothing, raises nothing
            said = [r.getMessage() for r in caplog.records if r.name == "connector.readiness"]
            assert said == [message]
            # nothing written (only columns the old schema has)
            assert ctx.run(lambda s: s.scalars(select(Source.name)).all()) == []

            ctx.db.upgrade()  # `connector db upgrade` ran
            assert client.get("/readyz").status_code == 200
            assert ctx.run(lambda s: [x.name for x in s.scalars(select(Source))]) == ["local"]
        finally:
            runner.shutdown()
            ctx.db.dispose()


def test_readyz_is_503_and_livez_200_while_the_database_does_not_answer(
    make_settings: Any,
) -> None:
    from tests.support.live_server import free_port

    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    ctx = Context.from_settings(make_settings(database={"url": url}))
    try:
        client = create_app(ctx).test_client()
        assert client.get("/livez").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json() == {
            "status": "unavailable",
            "message": "the database does not answer",
        }
        assert client.get("/healthz").status_code == 503  # as documented
    finally:
        ctx.db.dispose()


def test_database_migrate_decides_whether_a_process_migrates(
    make_settings: Any, tmp_path: Path
) -> None:
    """Unset: the role's default (serve yes, replicas and workers no); set: as told."""
    for migrate, default, at_head in (
        (None, True, True),
        (None, False, False),
        (False, True, False),
        (True, False, True),
    ):
        url = f"sqlite:///{tmp_path / f'm-{migrate}-{default}.db'}"
        settings = make_settings(database={"url": url, "migrate": migrate})
        ctx, runner = startup.start(
            settings, upgrade=startup.migrates(settings, default=default), run_jobs=False
        )
        try:
            assert runner.readiness.check().ok is at_head, (migrate, default)
        finally:
            ctx.db.dispose()
