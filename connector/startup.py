"""Start-up of a process that uses the database: the commands call it, the app factory does not.

Building a Flask app must not touch the database or start threads (tests and
tools build apps freely); what a serving process needs before its first request
happens here, once, for every entry point: ``connector serve``, the WSGI module
that gunicorn loads, the other CLI commands and the test fixtures.
"""

from __future__ import annotations

from typing import NamedTuple

from connector.config import Settings
from connector.ldap.run_service import register_sources as register_ldap_sources
from connector.scheduler import JobRunner
from connector.services.bootstrap import ensure_defaults
from connector.services.context import Context


class Started(NamedTuple):
    """What a serving process runs on: its context and its background job runner."""

    ctx: Context
    runner: JobRunner


def open_context(settings: Settings, *, upgrade: bool) -> Context:
    """A context whose database is ready for work.

    ``upgrade`` applies the migrations first (the embedded default); web workers
    in production leave that to ``connector db upgrade``. Then the rows every
    request assumes are written (the local source, the first mapping) and the
    configured LDAP sources are registered as sources.
    """
    ctx = Context.from_settings(settings)
    if upgrade:
        ctx.db.upgrade()
    ctx.run(lambda s: ensure_defaults(s, ctx.catalogue))
    register_ldap_sources(ctx)
    return ctx


def start(settings: Settings, *, upgrade: bool, run_jobs: bool = True) -> Started:
    """Open the context and start the job runner (resumes unfinished jobs, schedules LDAP).

    The runner runs only with ``run_jobs`` and ``scheduler.enabled``; otherwise it
    is returned idle, and entry points run LDAP syncs inside the request.
    """
    ctx = open_context(settings, upgrade=upgrade)
    runner = JobRunner(ctx, enabled=run_jobs and settings.scheduler.enabled)
    runner.start()
    return Started(ctx, runner)
