"""Keeps the ``user_emails`` side table in step with ``User.resource``.

The table holds each user's lower-cased e-mail values so that ``emails.value``
filters (``eq``, ``sw``) can use an index instead of reading every resource.
Rows are written after every ORM flush that inserts a user or changes the
e-mails of a user's ``resource``, in the same transaction. Writes that bypass the
ORM unit of work (``session.execute(update(User)...)``, raw SQL) are not seen;
the rows of a deleted user go with the foreign key's ON DELETE CASCADE.

Importing this module registers the listener (for every Session).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from connector.db.models import User, UserEmail

# Characters of each value kept in user_emails.value_ci (its column length).
VALUE_CI_LENGTH = 255
_CHUNK = 500


def email_keys(resource: Any) -> list[str]:
    """The values stored for one resource: each string ``emails[].value``, lower-cased."""
    emails = resource.get("emails") if isinstance(resource, dict) else None
    if not isinstance(emails, list):
        return []
    keys = {
        item["value"].lower()[:VALUE_CI_LENGTH]
        for item in emails
        if isinstance(item, dict) and isinstance(item.get("value"), str)
    }
    return sorted(keys)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _emails_changed(user: User) -> bool:
    """Whether the flushed change of the user's resource changed its e-mail keys
    (most changes do not: then its rows stay as they are)."""
    history = inspect(user).attrs.resource.history
    if not history.has_changes():
        return False
    if len(history.deleted) != 1:  # the earlier value is not known
        return True
    return email_keys(history.deleted[0]) != email_keys(user.resource)


def _users(objects: Iterable[Any]) -> list[User]:
    return [obj for obj in objects if isinstance(obj, User)]


def rows_for(users: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The rows of new users written with a Core insert (which the listener below
    does not see), from ``(user id, resource)`` pairs; the caller inserts them."""
    return [
        {"user_id": user_id, "value_ci": key}
        for user_id, resource in users
        for key in email_keys(resource)
    ]


@event.listens_for(Session, "after_flush")
def _sync_user_emails(session: Session, _context: UOWTransaction) -> None:
    # In after_flush, new/dirty/deleted and attribute history still describe the
    # flush that just ran, and inserted users have their ids.
    inserted = _users(session.new)
    updated = [u for u in _users(session.dirty) if _emails_changed(u)]
    # A deleted user's rows go with it: the foreign key cascades (both databases).
    if not (inserted or updated):
        return
    connection = session.connection()
    stale = [u.id for u in updated]
    for chunk in _chunks(stale):
        connection.execute(delete(UserEmail).where(UserEmail.user_id.in_(chunk)))
    rows = [
        {"user_id": user.id, "value_ci": key}
        for user in (*inserted, *updated)
        for key in email_keys(user.resource)
    ]
    if rows:
        connection.execute(insert(UserEmail), rows)
