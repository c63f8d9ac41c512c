"""LDAP runs as entry points see them: queue, execute, confirm, list.

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
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db.models import LdapEntry, Source, SyncRun, User, utcnow
from connector.errors import Conflict, NotFound
from connector.ldap import entries, locks, markers
from connector.ldap.client import LdapClient, LdapUnavailable, SearchAborted
from connector.ldap.filters import escape
from connector.ldap.quirks import ad
from connector.ldap.settings import LdapSettingError, LdapSourceConfig
from connector.ldap.sync.base import Counts
from connector.ldap.sync.users import UserSynchroniser
from connector.services import audit, sources
from connector.services.context import Context

log = logging.getLogger(__name__)

LDAP = "ldap"
POLL, FULL = "poll", "full"
UNFINISHED = ("queued", "running")
WATERMARK_STATES = ("ok", "blocked", "confirmed")
QUEUE_TIMEOUT = 300
Progress = Callable[[dict[str, Any]], None]


class RunInProgress(Conflict):
    """Another run of the same source is queued or running."""


class _Stopped(Exception):
    pass


# ------------------------------------------------------------------ configuration → sources table


def register_sources(ctx: Context) -> None:
    """Create or update a ``sources`` row (kind ldap) for every configured LDAP source."""

    def work(session: Session) -> None:
        for cfg in ctx.settings.sources.ldap:
            source = sources.get_or_create(session, cfg.name, LDAP)
            if source.kind != LDAP:
                raise Conflict(
                    f"LDAP source {cfg.name!r}: the name is taken by a {source.kind} source"
                )
            if source.sync_scope.get("scope") != cfg.sync_to_contact:
                source.sync_scope = {"scope": cfg.sync_to_contact}

    ctx.run(work)


def config_of(ctx: Context, name: str) -> LdapSourceConfig:
    cfg = ctx.settings.sources.ldap_source(name)
    if cfg is None:
        raise NotFound(f"no LDAP source named {name!r} in the configuration")
    return cfg


# ------------------------------------------------------------------ representation and listing


def representation(run: SyncRun, source_name: str | None = None) -> dict[str, Any]:
    return {
        "id": run.id,
        "source": source_name,
        "kind": run.kind,
        "state": run.state,
        "actor": run.actor,
        "start": run.started_at.isoformat(),
        "end": run.finished_at.isoformat() if run.finished_at else None,
        "read": run.read,
        "created": run.created,
        "updated": run.updated,
        "deleted": run.deleted,
        "deactivated": run.deactivated,
        "unchanged": run.unchanged,
        "suppressed": run.suppressed,
        "errors": run.errors,
        "wouldDelete": run.would_delete,
        "message": run.message,
        "errorMessages": run.error_messages.get("messages", []),
        "watermark": run.watermark,
        "confirmsRun": run.confirms_run,
        "confirmedByRun": run.confirmed_by_run,
    }


def _source(session: Session, name: str) -> Source:
    source = session.scalars(select(Source).where(Source.name == name)).first()
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


def queue(
    ctx: Context, name: str, actor: str, *, full: bool = False, confirms: int | None = None
) -> int:
    """Record a run to execute; refuses when the source has one queued or running."""
    config_of(ctx, name)

    def work(session: Session) -> int:
        source = _source(session, name)
        for busy in session.scalars(
            select(SyncRun).where(SyncRun.source_id == source.id, SyncRun.state.in_(UNFINISHED))
        ):
            if not _stale(ctx, name, busy):
                raise RunInProgress(f"run {busy.id} of source {name!r} is still {busy.state}")
            busy.state, busy.finished_at = "error", utcnow()
            busy.message = "interrupted: the process running it stopped"
        run = SyncRun(
            source_id=source.id,
            kind=FULL if full or confirms else POLL,
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


def confirm(
    ctx: Context, name: str, run_id: int, actor: str, *, progress: Progress | None = None
) -> dict[str, Any]:
    """An admin allows a blocked run's deletions: a reconciliation runs now and may
    remove up to that many users (more would block again)."""

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
    return execute(ctx, queue(ctx, name, actor, confirms=run_id), progress=progress)


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
            return _finish(
                ctx, run_id, name, "skipped", Counts(), "another process runs this source"
            )
        return _Execution(ctx, cfg, run, name, progress, stop).go()


class _Execution:
    """One run's state while it executes (under the lock)."""

    def __init__(
        self,
        ctx: Context,
        cfg: LdapSourceConfig,
        run: SyncRun,
        name: str,
        progress: Progress | None,
        stop: threading.Event | None,
    ) -> None:
        self.ctx, self.cfg, self.run, self.name = ctx, cfg, run, name
        self.progress, self.stop = progress, stop
        self.counts = Counts()
        self.sync = UserSynchroniser(ctx, cfg, run.source_id, f"ldap:{name}")
        self.watermark: str | None = None

    def go(self) -> dict[str, Any]:
        previous = self.ctx.run(self._begin)
        if self.run.state != "running":  # someone finished or skipped it meanwhile
            return self.ctx.run(lambda s: representation(s.get(SyncRun, self.run.id), self.name))
        try:
            with LdapClient(self.cfg) as client:
                self.server = client.server_id
                if self.run.kind == POLL and previous is not None:
                    self._poll(client, previous)
                    return self._done("ok")
                if self.run.kind == POLL:  # no watermark yet: the first run reads everything
                    self.ctx.run(lambda s: setattr(s.get(SyncRun, self.run.id), "kind", FULL))
                return self._full(client)
        except (LdapUnavailable, SearchAborted, LdapSettingError, _Stopped) as exc:
            log.warning("LDAP source %s: run %d failed: %s", self.name, self.run.id, exc)
            return self._done("error", str(exc))
        except Exception as exc:
            log.exception("LDAP source %s: run %d failed", self.name, self.run.id)
            return self._done("error", f"internal error: {type(exc).__name__}: {exc}")

    def _begin(self, session: Session) -> SyncRun | None:
        """Mark the run running, close runs a dead process left behind, find the watermark."""
        for stale in session.scalars(
            select(SyncRun).where(
                SyncRun.source_id == self.run.source_id,
                SyncRun.state.in_(UNFINISHED),
                SyncRun.id != self.run.id,
            )
        ):
            stale.state, stale.finished_at = "error", utcnow()
            stale.message = "interrupted: the process running it stopped"
        run = session.get(SyncRun, self.run.id)
        assert run is not None
        if run.state == "queued":
            run.state, run.started_at = "running", utcnow()
        self.run = run
        return session.scalars(
            select(SyncRun)
            .where(
                SyncRun.source_id == run.source_id,
                SyncRun.state.in_(WATERMARK_STATES),
                SyncRun.watermark.is_not(None),
            )
            .order_by(SyncRun.id.desc())
            .limit(1)
        ).first()

    def _tick(self, page: list[Any], counts: Counts) -> None:
        self.counts.add(counts)
        for entry in page:
            self.watermark = markers.newest(
                self.cfg.change_attribute, self.watermark, entries.marker(self.cfg, entry) or None
            )
        if self.progress is not None:
            self.progress({"state": "running", **asdict(self.counts)})
        if self.stop is not None and self.stop.is_set():
            raise _Stopped("stopped: the connector is shutting down")

    def _poll(self, client: LdapClient, previous: SyncRun) -> None:
        attr = self.cfg.change_attribute
        assert previous.watermark is not None
        self.watermark = previous.watermark
        if attr == "uSNChanged" and not ad.usn_watermark_valid(
            previous.watermark_server, self.server
        ):
            search = self.cfg.filter  # another DC: its numbers mean nothing here, read all
            self.watermark = None
        else:
            since = markers.since(attr, previous.watermark, self.cfg.overlap_seconds)
            search = f"(&{self.cfg.filter}({attr}>={escape(since)}))"
        for page in client.pages(search, self.sync.full_attributes()):
            self._tick(page, self.sync.write_page(page, None))

    def _full(self, client: LdapClient) -> dict[str, Any]:
        run_id = self.run.id
        known = self.ctx.run(
            lambda s: s.scalars(
                select(LdapEntry.id).where(LdapEntry.source_id == self.run.source_id).limit(1)
            ).first()
        )
        if known is None:  # first import: nothing to compare with, read entries in full
            for page in client.pages(self.cfg.filter, self.sync.full_attributes()):
                self._tick(page, self.sync.write_page(page, run_id))
        else:  # ids and change markers first; full entries only for what differs
            for page in client.pages(self.cfg.filter, self.sync.marker_attributes()):
                todo, counts = self.sync.differing(page, run_id)
                if todo:
                    fetched = client.by_ids(todo, self.sync.full_attributes())
                    counts.add(self.sync.write_page(fetched, run_id, count_read=False))
                self._tick(page, counts)
        missing, population = self.sync.count_missing(run_id)
        allowance = self.ctx.run(self._allowance)
        if (
            missing
            and missing > allowance
            and not self.cfg.delete_guard.allows(missing, population)
        ):
            guard = self.cfg.delete_guard
            return self._done(
                "blocked",
                f"{missing} of {population} users would be removed; the delete guard allows "
                f"{guard.max_count} and {guard.max_percent:g}%. Nothing was removed; confirm "
                f"with: connector sync --source {self.name} --confirm-deletes {run_id}",
                would_delete=missing,
            )
        if missing:
            self.counts.add(self.sync.remove_missing(run_id))
        return self._done("ok")

    def _allowance(self, session: Session) -> int:
        if self.run.confirms_run is None:
            return 0
        confirmed = session.get(SyncRun, self.run.confirms_run)
        return confirmed.would_delete if confirmed is not None else 0

    def _done(
        self, state: str, message: str | None = None, would_delete: int = 0
    ) -> dict[str, Any]:
        watermark = self.watermark if state != "error" else None
        return _finish(
            self.ctx,
            self.run.id,
            self.name,
            state,
            self.counts,
            message,
            watermark=watermark,
            server=getattr(self, "server", None),
            would_delete=would_delete,
        )


def _finish(
    ctx: Context,
    run_id: int,
    name: str,
    state: str,
    counts: Counts,
    message: str | None,
    *,
    watermark: str | None = None,
    server: str | None = None,
    would_delete: int = 0,
) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        run = session.get(SyncRun, run_id)
        assert run is not None
        for key, value in asdict(counts).items():
            if key == "messages":
                run.error_messages = {"messages": value}
            else:
                setattr(run, key, value)
        run.state, run.message, run.finished_at = state, message, utcnow()
        run.would_delete = would_delete
        run.watermark = watermark
        run.watermark_server = server if watermark else None
        if run.confirms_run is not None and state == "ok":
            confirmed = session.get(SyncRun, run.confirms_run)
            if confirmed is not None and confirmed.state == "blocked":
                confirmed.state, confirmed.confirmed_by_run = "confirmed", run.id
        result = representation(run, name)
        audit.record(
            session,
            run.actor,
            "ldap.run",
            "source",
            name,
            None,
            {
                k: result[k]
                for k in (
                    "id",
                    "kind",
                    "state",
                    "read",
                    "created",
                    "updated",
                    "deleted",
                    "deactivated",
                    "suppressed",
                    "errors",
                )
            },
            outcome="ok" if state in ("ok", "skipped") else state,
            message=message,
            diff=False,
        )
        return result

    result = ctx.run(work)
    log.info(
        "LDAP source %s: run %d %s (%s read, %s created, %s updated, %s deleted, %s errors)",
        name,
        run_id,
        state,
        result["read"],
        result["created"],
        result["updated"],
        result["deleted"],
        result["errors"],
    )
    return result
