"""One run carried out end to end, under its source's lock: a poll, a first import
or a reconciliation, from marking it running to closing its record.

How it differs from its neighbours: :mod:`connector.ldap.run_service` (what entry
points call) queues runs and takes the lock before handing one here;
:mod:`connector.ldap.run_records` is the row this module closes. What is read is
written by :mod:`connector.ldap.sync.users`.

Why a class: the run's counts, watermark and server identity accumulate page by
page, and every way out (success, guard, any failure) goes through ``_done``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import logs
from connector.db.models import LdapEntry, SyncRun, utcnow
from connector.ldap import fast_import, markers
from connector.ldap.client import LdapClient, LdapUnavailable, SearchAborted
from connector.ldap.fast_import import reader_process
from connector.ldap.fast_import.import_plan import PlanBasis
from connector.ldap.filters import escape
from connector.ldap.mapped_pages import MarkerPage, marker_page
from connector.ldap.quirks import ad
from connector.ldap.run_records import (
    FULL,
    POLL,
    UNFINISHED,
    WATERMARK_STATES,
    finish,
    representation,
)
from connector.ldap.settings import LdapSettingError, LdapSourceConfig
from connector.ldap.sync.base import Counts
from connector.ldap.sync.users import UserSynchroniser
from connector.services.context import Context

log = logging.getLogger(__name__)
Progress = Callable[[dict[str, Any]], None]


class _Stopped(Exception):
    pass


class RunExecution:
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
        self.reader_peak_rss_kib = 0  # of the reader processes (fast path), when done

    def go(self) -> dict[str, Any]:
        with logs.context(source=self.name, ldap_run_id=self.run.id):
            return self._go()

    def _go(self) -> dict[str, Any]:
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
        except (
            LdapUnavailable,
            SearchAborted,
            LdapSettingError,
            reader_process.ReaderFailed,
            _Stopped,
        ) as exc:
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

    def _tick(self, page_markers: list[str], counts: Counts) -> None:
        """A page is written: count it, move the watermark, report, stop if asked."""
        self.counts.add(counts)
        for marker in page_markers:
            self.watermark = markers.newest(
                self.cfg.change_attribute, self.watermark, marker or None
            )
        self._report()
        if self.stop is not None and self.stop.is_set():
            raise _Stopped("stopped: the connector is shutting down")

    def _report(self) -> None:
        """Tell the caller's progress callback the counts so far (and, once a reader
        process is done, its peak memory: the benchmark counts it)."""
        if self.progress is None:
            return
        report: dict[str, Any] = {"state": "running", **asdict(self.counts)}
        if self.reader_peak_rss_kib:
            report["readerPeakRssKib"] = self.reader_peak_rss_kib
        self.progress(report)

    def _reader_done(self, reading: reader_process.Reading) -> None:
        self.reader_peak_rss_kib = max(self.reader_peak_rss_kib, reading.peak_rss_kib)
        self._report()

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
            mapped = self.sync.map_page(page)
            self._tick(mapped.markers, self.sync.write_mapped(mapped, None))

    def _full(self, client: LdapClient) -> dict[str, Any]:
        run_id = self.run.id
        known = self.ctx.run(
            lambda s: s.scalars(
                select(LdapEntry.id).where(LdapEntry.source_id == self.run.source_id).limit(1)
            ).first()
        )
        fast = fast_import.enabled(self.cfg)
        if known is None and fast:  # first import: nothing to compare with, read in full
            self._first_import(client, run_id)
        elif known is None:
            self._first_import_plain(client, run_id)
        elif fast:  # ids and change markers first; full entries only for what differs
            with reader_process.marker_pages(
                self.cfg, self.sync.marker_attributes(), client.deadline
            ) as reading:
                self.server = reading.server
                self._reconcile(client, run_id, reading.pages)
            self._reader_done(reading)
        else:
            pages = client.pages(self.cfg.filter, self.sync.marker_attributes())
            self._reconcile(client, run_id, (marker_page(self.cfg, page) for page in pages))
        removal = self.sync.remove_missing(run_id, confirmed=self.ctx.run(self._allowance))
        if removal.blocked:
            guard = self.cfg.delete_guard
            return self._done(
                "blocked",
                f"{removal.missing} of {removal.population} users would be removed; the delete "
                f"guard allows {guard.max_count} and {guard.max_percent:g}%. Nothing was "
                f"removed; confirm with: connector sync --source {self.name} "
                f"--confirm-deletes {run_id}",
                would_delete=removal.missing,
            )
        self.counts.add(removal.counts)
        return self._done("ok")

    def _first_import(self, client: LdapClient, run_id: int) -> None:
        """The fast path: read, map and plan in a reader process while this one
        writes each page from its plan (see connector.ldap.fast_import)."""
        sync = self.sync
        dialect = self.ctx.db.engine.dialect
        basis = self.ctx.run(
            lambda s: PlanBasis.load(
                s,
                f"{dialect.name}+{dialect.driver}",
                self.run.source_id,
                sync.actor,
                run_id,
                sync.fingerprint,
            )
        )
        with reader_process.planned_pages(
            self.cfg, sync.full_attributes(), client.deadline, basis
        ) as reading:
            self.server = reading.server
            for packed, plan, reader_planned in reading.pages:
                counts = sync.write_first_import_page(packed, plan, reader_planned, basis, run_id)
                self._tick(packed.markers, counts)
        self._reader_done(reading)

    def _first_import_plain(self, client: LdapClient, run_id: int) -> None:
        """The plain path: every page read, mapped and written here, as a poll's."""
        for page in client.pages(self.cfg.filter, self.sync.full_attributes()):
            mapped = self.sync.map_page(page)
            self._tick(mapped.markers, self.sync.write_mapped(mapped, run_id))

    def _reconcile(self, client: LdapClient, run_id: int, pages: Iterator[MarkerPage]) -> None:
        """Compare ids and markers page by page; full entries only for what differs,
        read on a second connection."""
        for page in pages:
            todo, counts = self.sync.differing(page, run_id)
            if todo:
                fetched = client.by_ids(todo, self.sync.full_attributes())
                counts.add(self.sync.write_page(fetched, run_id, count_read=False))
            self._tick(page.markers, counts)

    def _allowance(self, session: Session) -> int:
        if self.run.confirms_run is None:
            return 0
        confirmed = session.get(SyncRun, self.run.confirms_run)
        return confirmed.would_delete if confirmed is not None else 0

    def _done(
        self, state: str, message: str | None = None, would_delete: int = 0
    ) -> dict[str, Any]:
        watermark = self.watermark if state != "error" else None
        return finish(
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
