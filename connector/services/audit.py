"""Audit events: who changed what, with before/after of the fields that changed."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from connector.db.models import AuditEvent, utcnow
from connector.queries.bulk import JSONText

# Every action the code records, "<object>.<verb>"; the console offers them as the
# audit log's action filter. tests/unit/test_audit_actions.py reads the source and
# fails when an action is recorded that is not listed here, or listed and never recorded.
ACTIONS: tuple[str, ...] = (
    "user.create",
    "user.update",
    "user.delete",
    "user.sync",
    "user.direction",
    "user.restore",
    "contact.create",
    "contact.update",
    "contact.delete",
    "contact.restore",
    "link.pause",
    "link.resume",
    "link.remove",
    "mapping.save",
    "mapping.clear",
    "mapping.reset",
    "settings.update",
    "source.scope",
    "source.guard",
    "deletion.hold",
    "deletion.confirm",
    "deletion.reject",
    "deletion.purge",
    "suppression.lift",
    "group.create",
    "group.update",
    "group.delete",
    "token.create",
    "token.revoke",
    "job.resync_contacts",
    "job.sync_users",
    "job.claim",
    "ldap.run",
    "ldap.confirm",
    "admin.signin",
    "admin.signout",
    "admin.create",
)


def changed_fields(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Only the top-level keys that differ, so the log says what changed."""
    if before is None or after is None:
        return before, after
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return (
        {k: before[k] for k in changed if k in before},
        {k: after[k] for k in changed if k in after},
    )


def event(
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | JSONText | None = None,
    *,
    outcome: str = "ok",
    message: str | None = None,
    diff: bool = True,
) -> dict[str, Any]:
    """An audit row as a dict, ready for a single add or a bulk insert. ``after``
    may be JSON text already serialised (a directory import's): written whole."""
    if diff and not isinstance(after, JSONText):
        before, after = changed_fields(before, after)
    return {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "outcome": outcome,
        "message": message,
    }


def record(session: Session, *args: Any, **kwargs: Any) -> None:
    session.add(AuditEvent(**event(*args, **kwargs)))


def record_many(session: Session, events: list[dict[str, Any]]) -> None:
    """A batch's events (made by :func:`event`) in one insert, past the ORM."""
    if events:
        session.connection().execute(insert(cast(Table, AuditEvent.__table__)), events)


# What the log can be narrowed by: the API's parameter names and their columns.
FILTERS = {
    "objectType": AuditEvent.object_type,
    "objectId": AuditEvent.object_id,
    "actor": AuditEvent.actor,
    "action": AuditEvent.action,
}


def list_events(
    session: Session, filters: dict[str, str | None], *, start_index: int, count: int
) -> dict[str, Any]:
    """A page of the log, newest first; ``filters`` (keys of FILTERS) must match exactly."""
    where = [FILTERS[name] == value for name, value in filters.items() if value]
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    rows = session.scalars(
        select(AuditEvent)
        .where(*where)
        .order_by(AuditEvent.id.desc())
        .offset(start_index - 1)
        .limit(count)
    ).all()
    return {"items": [representation(e) for e in rows], "total": total, "startIndex": start_index}


def representation(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "objectType": event.object_type,
        "objectId": event.object_id,
        "before": event.before,
        "after": event.after,
        "outcome": event.outcome,
        "message": event.message,
    }
