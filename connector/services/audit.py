"""Audit events: who changed what, with before/after of the fields that changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from connector.db.models import AuditEvent, utcnow

# Every action the code records, "<object>.<verb>"; the console offers them as the
# audit log's action filter. tests/unit/test_audit_actions.py reads the source and
# fails when an action is recorded that is not listed here, or listed and never recorded.
ACTIONS: tuple[str, ...] = (
    "user.create",
    "user.update",
    "user.delete",
    "user.sync",
    "user.direction",
    "contact.create",
    "contact.update",
    "contact.delete",
    "link.pause",
    "link.resume",
    "link.remove",
    "mapping.save",
    "mapping.clear",
    "mapping.reset",
    "settings.update",
    "source.scope",
    "group.create",
    "group.update",
    "group.delete",
    "token.create",
    "token.revoke",
    "job.resync_contacts",
    "job.sync_users",
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
    after: dict[str, Any] | None = None,
    *,
    outcome: str = "ok",
    message: str | None = None,
    diff: bool = True,
) -> dict[str, Any]:
    """An audit row as a dict, ready for a single add or a bulk insert."""
    if diff:
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
