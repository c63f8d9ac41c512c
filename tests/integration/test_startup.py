"""Building the app starts nothing; the start-up the commands call does the work."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector import startup
from connector.config import Settings
from connector.db.models import AuditEvent, Base, MappingVersion, Source
from connector.services.context import Context
from connector.web.app import create_app
from tests.integration.ldap_support import with_sources


def _rows(ctx: Context) -> dict[str, int]:
    def count(session: Session, model: type[Base]) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    return ctx.run(
        lambda s: {m.__tablename__: count(s, m) for m in (Source, MappingVersion, AuditEvent)}
    )


def test_create_app_writes_nothing_and_starts_no_thread(settings: Settings) -> None:
    ctx = Context.from_settings(settings)
    threads = set(threading.enumerate())
    try:
        app = create_app(ctx)
        assert _rows(ctx) == {"sources": 0, "mapping_versions": 0, "audit_events": 0}
        assert set(threading.enumerate()) == threads
        runner = app.extensions["connector.runner"]
        assert not runner.enabled and not runner.scheduler.running
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        ctx.db.dispose()


def test_start_writes_the_defaults_registers_ldap_sources_and_runs_jobs(
    settings: Settings,
) -> None:
    ldap = {
        "name": "corp",
        "urls": ["ldap://127.0.0.1:1"],
        "base_dn": "dc=example,dc=org",
        "poll": "off",
        "reconcile": "off",
    }
    ctx, runner = startup.start(with_sources(settings, ldap), upgrade=False)
    try:
        kinds = ctx.run(lambda s: {x.name: x.kind for x in s.scalars(select(Source))})
        assert kinds == {"local": "local", "corp": "ldap"}
        assert _rows(ctx)["mapping_versions"] == 1
        assert runner.enabled and runner.scheduler.running
    finally:
        runner.shutdown()
        ctx.db.dispose()


def test_start_leaves_the_runner_idle_when_the_scheduler_is_off(settings: Settings) -> None:
    off = settings.model_copy(
        update={"scheduler": settings.scheduler.model_copy(update={"enabled": False})}
    )
    ctx, runner = startup.start(off, upgrade=False)
    try:
        assert _rows(ctx)["mapping_versions"] == 1  # the defaults are written all the same
        assert not runner.enabled and not runner.scheduler.running
    finally:
        runner.shutdown()
        ctx.db.dispose()
