"""LDAP runs as entry points see them: the service the CLI, the admin API and the
scheduler call to register sources, queue, execute, confirm and list runs.

How it differs from its neighbours: :mod:`connector.ldap.run_records` is the
``sync_runs`` row (its JSON form, how a run is closed); :mod:`connector.ldap.run_execution`
is one run carried out end to end under the source's lock. This module decides
*whether* and *when* a run happens (one at a time per source, stale runs closed,
confirmations of blocked runs) and hands it to the execution.

Every run is a ``sync_runs`` row. A run that fails in any way (server down, a
page refused, a size limit, the run timeout, a stop request) ends in ``error``:
it deletes nothing and leaves the watermark where it was; what its finished
pages wrote stays (it is correct, and the next run finds it unchanged). A
reconciliation that would remove more users than the source's delete guard
allows removes none and ends ``blocked`` until an admin confirms it.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import logs
from connector.db.models import Source, SyncRun, User, utcnow
from connector.errors import Conflict, NotFound
from connector.ldap import locks
from connector.ldap import settings as ldap_settings
from connector.ldap.run_execution import Progress, RunExecution
from connector.ldap.run_records import FULL, POLL, UNFINISHED, finish, representation
from connector.ldap.settings import LdapSourceConfig
from connector.ldap.sync.base import Counts
from connector.services import audit, sources
from connector.services.context import Context

log = logging.getLogger(__name__)

LDAP = "ldap"
QUEUE_TIMEOUT = 300


class RunInProgress(Conflict):
    """Another run of the same source is queued or running."""


# ------------------------------------------------------------------ configuration → sources table


def register_sources(ctx: Context) -> None:
    """Create or update a ``sources`` row (kind ldap) for every configured LDAP source."""

    def work(session: Session) -> None:
        for cfg in ldap_settings.configured(ctx.settings):
            source = sources.get_or_create(session, cfg.name, LDAP)
            if source.kind != LDAP:
                raise Conflict(
                    f"LDAP source {cfg.name!r}: the name is taken by a {source.kind} source"
                )
            if source.sync_scope.get("scope") != cfg.sync_to_contact:
                source.sync_scope = {"scope": cfg.sync_to_contact}

    ctx.run(work)


def config_of(ctx: Context, name: str) -> LdapSourceConfig:
    cfg = ldap_settings.source_named(ctx.settings, name)
    if cfg is None:
        raise NotFound(f"no LDAP source named {name!r} in the configuration")
    return cfg


# ------------------------------------------------------------------ representation and listing


def _source(session: Session, name: str, *, lock: bool = False) -> Source:
    query = select(Source).where(Source.name == name)
    source = session.scalars(query.with_for_update() if lock else query).first()
    if source is None or source.kind != LDAP:
        raise NotFound(f"no LDAP source named {name!r}")
    return source


def list_runs(session: Session, name: str, limit: int = 50) -> list[dict[str, Any]]:
    source = _source(session, name)
    rows = session.scalars(
        select(SyncRun)
        .where(SyncRun.source_id == source.id)
        .order_by(SyncRun.id.desc())
        .limit(limit)
    )
    return [representation(r, name) for r in rows]


def sources_of_users(session: Session, user_ids: list[str]) -> list[str]:
    """Names of the configured LDAP sources these users come from."""
    if not user_ids:
        return []
    return list(
        session.scalars(
            select(Source.name)
            .join(User, User.source_id == Source.id)
            .where(User.id.in_(user_ids), Source.kind == LDAP)
            .distinct()
        )
    )


def last_run(session: Session, source: Source) -> dict[str, Any] | None:
    run = session.scalars(
        select(SyncRun).where(SyncRun.source_id == source.id).order_by(SyncRun.id.desc()).limit(1)
    ).first()
    return representation(run, source.name) if run else None


# ------------------------------------------------------------------ queue and execute


class SlotTaken(Conflict):
    """Another process already ran this firing of the schedule."""


def queue(
    ctx: Context,
    name: str,
    actor: str,
    *,
    full: bool = False,
    confirms: int | None = None,
    slot: datetime | None = None,
) -> int:
    """Record a run to execute; refuses when the source has one queued or running.

    The source's row is locked meanwhile, so processes queueing at the same moment
    take turns and the second sees the first's run. ``slot`` is the instant a
    schedule fired for: a run of that kind already started since then (by another
    process whose schedule fired too) means this firing is done, and nothing is
    recorded."""
    config_of(ctx, name)
    kind = FULL if full or confirms else POLL

    def work(session: Session) -> int:
        source = _source(session, name, lock=True)
        if slot is not None and session.scalar(
            select(SyncRun.id)
            .where(SyncRun.source_id == source.id, SyncRun.kind == kind)
            .where(SyncRun.started_at >= slot)
            .limit(1)
        ):
            raise SlotTaken(f"the {kind} run of {slot.isoformat()} was run by another process")
        for busy in session.scalars(
            select(SyncRun).where(SyncRun.source_id == source.id, SyncRun.state.in_(UNFINISHED))
        ):
            if not _stale(ctx, name, busy):
                raise RunInProgress(f"run {busy.id} of source {name!r} is still {busy.state}")
            busy.state, busy.finished_at = "error", utcnow()
            busy.message = "interrupted: the process running it stopped"
        run = SyncRun(
            source_id=source.id,
            kind=kind,
            state="queued",
            actor=actor,
            confirms_run=confirms,
            error_messages={"messages": []},
        )
        session.add(run)
        session.flush()
        return run.id

    return ctx.run(work)


def _stale(ctx: Context, name: str, run: SyncRun) -> bool:
    """A run left unfinished by a process that died: on PostgreSQL nobody holds the
    source's lock; on SQLite it outlived its time limit; queued runs that never
    started within QUEUE_TIMEOUT."""
    age = (utcnow() - run.started_at).total_seconds()
    if run.state == "queued":
        return age > QUEUE_TIMEOUT
    if ctx.db.dialect != "postgresql":
        # SQLite's lock is per process; another process (a CLI next to `serve`) may
        # hold the run, so only a run older than its own time limit is dead.
        return age > config_of(ctx, name).timeouts.run + QUEUE_TIMEOUT
    with locks.source_lock(ctx.db, name) as free:
        return free


def run_now(
    ctx: Context,
    name: str,
    actor: str,
    *,
    full: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    return execute(ctx, queue(ctx, name, actor, full=full), progress=progress, stop=stop)


def queue_confirmation(ctx: Context, name: str, run_id: int, actor: str) -> int:
    """An admin allows a blocked run's deletions: queue the reconciliation that may
    remove up to that many users (more would block again); its run id."""

    def check(session: Session) -> None:
        source = _source(session, name)
        run = session.get(SyncRun, run_id)
        if run is None or run.source_id != source.id:
            raise NotFound(f"no run {run_id} of source {name!r}")
        if run.state != "blocked":
            raise Conflict(f"run {run_id} is {run.state}, not blocked; nothing to confirm")
        audit.record(
            session,
            actor,
            "ldap.confirm",
            "source",
            name,
            None,
            {"run": run_id, "wouldDelete": run.would_delete},
            diff=False,
        )

    ctx.run(check)
    return queue(ctx, name, actor, confirms=run_id)


def confirm(
    ctx: Context, name: str, run_id: int, actor: str, *, progress: Progress | None = None
) -> dict[str, Any]:
    """:func:`queue_confirmation`, and the reconciliation runs now, here."""
    return execute(ctx, queue_confirmation(ctx, name, run_id, actor), progress=progress)


@logs.tagged("run_id", "ldap_run_id")
def execute(
    ctx: Context,
    run_id: int,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Carry out a queued run under the source's lock; returns its representation."""
    run = ctx.run(lambda s: s.get(SyncRun, run_id))
    if run is None:
        raise NotFound(f"no run {run_id}")
    name = ctx.run(lambda s: s.get(Source, run.source_id).name)  # type: ignore[union-attr]
    cfg = config_of(ctx, name)
    with locks.source_lock(ctx.db, name) as got:
        if not got:
            return finish(
                ctx, run_id, name, "skipped", Counts(), "another process runs this source"
            )
        return RunExecution(ctx, cfg, run, name, progress, stop).go()
