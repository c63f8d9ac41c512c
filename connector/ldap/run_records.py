"""The ``sync_runs`` rows: a run's JSON form and how a run is closed (counts,
state, watermark, the ``ldap.run`` audit event).

Only the record: :mod:`connector.ldap.run_service` decides when runs happen and
:mod:`connector.ldap.run_execution` carries one out; both close runs here.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from connector import metrics
from connector.db.models import SyncRun, utcnow
from connector.ldap.sync.base import Counts
from connector.services import audit
from connector.services.context import Context

log = logging.getLogger(__name__)

POLL, FULL = "poll", "full"
UNFINISHED = ("queued", "running")
# States whose watermark the next poll may start from (their read was complete).
WATERMARK_STATES = ("ok", "blocked", "confirmed")


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


def finish(
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
        result["_seconds"] = (run.finished_at - run.started_at).total_seconds()
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
    seconds = result.pop("_seconds")
    metrics.ldap_run_ended(
        name,
        result["kind"],
        state,
        seconds,
        read=result["read"],
        changed=result["created"] + result["updated"] + result["deactivated"],
        deleted=result["deleted"],
        blocked=result["wouldDelete"] if state == "blocked" else 0,
    )
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
