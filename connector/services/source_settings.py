"""What ``PATCH /sources/NAME`` changes of a source: its sync scope (the users that
follow it are decided again) and, for a SCIM source, its deletion guard.

Why its own module: the two settings belong to two rules (:mod:`.rescope` and
:mod:`.deletion`), and one request may change both in one transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from connector.db.models import Source
from connector.errors import NotFound
from connector.services import deletion, rescope, sources
from connector.services.delete_guard import SourceGuard


def update_source(
    session: Session,
    actor: str,
    name: str,
    batch: int,
    *,
    scope: object = sources.UNCHANGED,
    guard: SourceGuard | None = None,
    set_guard: bool = False,
) -> Source:
    """``PATCH /sources/NAME``: its sync scope (its users that follow it are decided
    again, :func:`.rescope.change_scope`) and (SCIM) its guard, in one transaction."""
    source = sources.by_name(session, name)
    if source is None:
        raise NotFound(f"no source named {name!r}")
    if scope is not sources.UNCHANGED:
        source = rescope.change_scope(session, actor, name, scope, batch)
    if set_guard:
        source = deletion.set_source_guard(session, actor, name, guard)
    return source
