"""Start-up of a process that uses the database: the commands call it, the app factory does not.

Building a Flask app must not touch the database or start threads (tests and
tools build apps freely); what a serving process needs before its first request
happens here, once, for every entry point: ``connector serve``, the WSGI module
that gunicorn loads, the other CLI commands and the test fixtures.
"""

from __future__ import annotations

from typing import NamedTuple

from connector.config import Settings
from connector.readiness import Readiness
from connector.scheduler import JobRunner
from connector.services.context import Context


class Started(NamedTuple):
    """What a serving process runs on: its context and its background job runner."""

    ctx: Context
    runner: JobRunner


def migrates(settings: Settings, *, default: bool) -> bool:
    """Whether this process applies the migrations: ``database.migrate``
    (``CONNECTOR_MIGRATE``) when set, else the role's default (`connector serve`
    yes; web replicas and workers no: `connector db upgrade` is the migrator)."""
    return default if settings.database.migrate is None else settings.database.migrate


def open_context(settings: Settings, *, upgrade: bool) -> Context:
    """A context whose database is ready for work (the commands that are not servers).

    ``upgrade`` applies the migrations first (the embedded default). Then the rows
    every request assumes are written (the local source, the first mapping) and the
    configured LDAP sources are registered as sources.
    """
    ctx = Context.from_settings(settings)
    if upgrade:
        ctx.db.upgrade()
    Readiness(ctx).check(strict=True)
    return ctx


def start(settings: Settings, *, upgrade: bool, run_jobs: bool = True) -> Started:
    """Open the context and start the job runner (polls the queue, schedules LDAP).

    The runner runs only with ``run_jobs`` and ``scheduler.enabled``; otherwise it
    is returned idle: what requests queue waits for a worker, and entry points run
    LDAP syncs inside the request. Against a schema older than the code (not
    migrated here) the process starts not ready: connector/readiness.py logs why,
    `/readyz` answers 503 and no job is claimed until the schema is at head.
    """
    ctx = Context.from_settings(settings, serving=True)
    if upgrade:
        ctx.db.upgrade()
    runner = JobRunner(ctx, enabled=run_jobs and settings.scheduler.enabled)
    runner.readiness.check(strict=True)
    runner.start()
    return Started(ctx, runner)
