"""Audit events: who changed what, with before/after of the fields that changed."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, String, Table, and_, func, insert, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from connector.db.models import ApiToken, AuditEvent, Contact, Group, User, utcnow
from connector.queries.bulk import JSONText
from connector.services import audit_changes

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
    """One event, inserted at once past the ORM: its unit of work cost a single SCIM
    write more than the insert itself (bench/scim.py)."""
    record_many(session, [event(*args, **kwargs)])


_INSERT = insert(cast(Table, AuditEvent.__table__))  # built once: every write records


def record_many(session: Session, events: list[dict[str, Any]]) -> None:
    """A batch's events (made by :func:`event`) in one insert, past the ORM (one event:
    a plain execute, not the driver's executemany)."""
    if events:
        session.connection().execute(_INSERT, events[0] if len(events) == 1 else events)


# What the log can be narrowed by: the API's parameter names and their columns.
FILTERS = {
    "objectType": AuditEvent.object_type,
    "objectId": AuditEvent.object_id,
    "actor": AuditEvent.actor,
    "action": AuditEvent.action,
}
# Filters that match a part of the value (case-insensitive): "user.upd" finds
# "user.updated" and "user.update"; the others must match exactly.
SUBSTRING_FILTERS = frozenset({"action"})


def _condition(name: str, value: str) -> ColumnElement[bool]:
    column = FILTERS[name]
    if name in SUBSTRING_FILTERS:
        return func.lower(column).contains(value.lower(), autoescape=True)
    return column == value


def list_events(
    session: Session, filters: dict[str, str | None], *, start_index: int, count: int
) -> dict[str, Any]:
    """A page of the log, newest first, each event with its object's name and its
    changes as rows of fields (:mod:`.audit_changes`); the names of the page's users,
    contacts, groups and tokens come with the page, in the same query."""
    where = [_condition(name, value) for name, value in filters.items() if value]
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    page = (
        select(AuditEvent.id)
        .where(*where)
        .order_by(AuditEvent.id.desc())
        .offset(start_index - 1)
        .limit(count)
        .subquery()
    )
    event = AuditEvent
    names = (User.user_name, User.resource, Contact.fields, Group.display_name, ApiToken.name)
    rows = session.execute(
        select(event, *names)
        .join(page, page.c.id == event.id)
        .outerjoin(User, and_(event.object_type == "user", User.id == event.object_id))
        .outerjoin(Contact, and_(event.object_type == "contact", Contact.id == event.object_id))
        .outerjoin(Group, and_(event.object_type == "group", Group.id == event.object_id))
        .outerjoin(
            ApiToken,
            and_(event.object_type == "token", sql_cast(ApiToken.id, String) == event.object_id),
        )
        .order_by(event.id.desc())
    ).all()
    items = []
    for e, user_name, resource, fields, group_name, token_name in rows:
        stored = {
            "user": user_name and user_label(user_name, resource),
            "contact": fields is not None and contact_label(fields),
            "group": group_name,
            "token": token_name,
        }.get(e.object_type)
        items.append(representation(e, stored or None))
    return {"items": items, "total": total, "startIndex": start_index}


def user_label(user_name: str, resource: dict[str, Any] | None) -> str:
    """How the log names a user: its userName, with its display name when it has one."""
    display = (resource or {}).get("displayName")
    return f"{display} ({user_name})" if display and display != user_name else user_name


def contact_label(fields: dict[str, Any]) -> str | None:
    """How the log (and the console) names a contact: display name, else title, first and
    last name, else company, else e-mail."""
    named = " ".join(str(fields[k]) for k in ("title", "firstName", "lastName") if fields.get(k))
    return fields.get("displayName") or named or fields.get("company") or fields.get("email")


def _name_in_payload(event: AuditEvent) -> str | None:
    """A deleted object's name, from what its events carried."""
    for payload in (event.before, event.after):
        if not isinstance(payload, dict):
            continue
        if event.object_type == "user" and payload.get("userName"):
            return user_label(str(payload["userName"]), payload)
        if event.object_type == "contact" and isinstance(payload.get("fields"), dict):
            return contact_label(payload["fields"])
        if event.object_type in ("group", "token") and payload.get(
            "displayName" if event.object_type == "group" else "name"
        ):
            return str(payload.get("displayName") or payload.get("name"))
    return None


def object_name(event: AuditEvent, stored: str | None) -> str | None:
    """The object's name: the stored object's, else from the event (a deleted object),
    else what the id says for objects named by it (a source, an admin, a mapping version)."""
    if stored:
        return stored
    if event.object_type in ("source", "admin"):
        return event.object_id
    if event.object_type == "mapping" and event.object_id:
        return f"version {event.object_id}"
    return _name_in_payload(event)


def representation(event: AuditEvent, stored_name: str | None = None) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "objectType": event.object_type,
        "objectId": event.object_id,
        "objectName": object_name(event, stored_name),
        "before": event.before,
        "after": event.after,
        "changes": audit_changes.changes(event.object_type, event.before, event.after),
        "outcome": event.outcome,
        "message": event.message,
    }
