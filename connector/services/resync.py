"""What "Update all synchronized users" does to each linked contact: its pages (the
selection rule itself is :mod:`.resync_selection`) and the outcome for one contact.

Why its own module: the job (connector.services.jobs) and its preview
(connector.services.mapping_preview) must agree contact for contact, so both read
the same pages and ask the same :func:`outcome`; they differ only in what they do
with it (write it, or count it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db.models import Contact, ContactLink, User
from connector.mapping import apply
from connector.services import contact_rules, resync_selection
from connector.services.contact_rules import Action
from connector.services.linking import SyncState


@dataclass(frozen=True)
class LinkedRow:
    """One active link with what the job reads of its contact and user (Core row, no ORM)."""

    link_id: int
    contact_id: str
    contact_version: int
    fields: dict[str, Any]
    active: bool
    resource: dict[str, Any]
    user_active: bool
    user_direction: str | None
    sync_on: bool
    user_name: str
    user_id: str
    source_id: int


@dataclass(frozen=True)
class Page:
    """One page of the selection: its rows, and the last link id it covered (the job's
    cursor; rows may be fewer than the links covered, see :func:`page`)."""

    rows: list[LinkedRow]
    last_link_id: int | None


def page(session: Session, after: int, limit: int, state: SyncState) -> Page:
    """The links after link id ``after`` that the job re-applies the mapping to
    (:mod:`.resync_selection`), in link id order, covering at most ``limit`` live links.

    The page of links is chosen first (primary-key range, LIMIT), so the joins stay
    index lookups whatever the planner's statistics say after a bulk load; the part
    of the rule on the user narrows the page afterwards, so a page may hold fewer
    rows than it covers (``last_link_id`` is where the next one starts)."""
    link_ids = session.scalars(
        select(ContactLink.id)
        .where(ContactLink.id > after, resync_selection.link_is_live())
        .order_by(ContactLink.id)
        .limit(limit)
    ).all()
    if not link_ids:
        return Page([], None)
    links = (
        select(ContactLink.id, ContactLink.contact_id, ContactLink.user_id)
        .where(
            ContactLink.id > after,
            ContactLink.id <= link_ids[-1],
            resync_selection.link_is_live(),
        )
        .subquery()
    )
    rows = session.execute(
        select(
            links.c.id,
            Contact.id,
            Contact.version,
            Contact.fields,
            Contact.active,
            User.resource,
            User.active,
            User.sync_direction,
            User.sync_to_contact,
            User.user_name,
            User.id,
            User.source_id,
        )
        .join(Contact, Contact.id == links.c.contact_id)
        .join(User, User.id == links.c.user_id)
        .where(*resync_selection.user_is_source(state.settings.direction, state.local_sources))
        .order_by(links.c.id)
    ).all()
    return Page([LinkedRow(*row) for row in rows], link_ids[-1])


class Kind(Enum):
    LEAVE = "leave"  # the rules leave the contact alone (paused in effect, reversed direction)
    DELETE = "delete"  # the contact and its link go (deactivated user, onDeactivate delete)
    SAME = "same"  # the mapping gives what the contact holds: only the link's version moves
    UPDATE = "update"  # new fields or active flag
    ERROR = "error"  # the mapping could not be applied to this user


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    fields: dict[str, str] | None = None
    active: bool = False
    error: str | None = None

    @property
    def changes(self) -> bool:
        """Whether the job counts this contact as changed."""
        return self.kind in (Kind.UPDATE, Kind.DELETE)


def outcome(row: LinkedRow, state: SyncState) -> Outcome:
    """What the job does to ``row``'s contact under ``state``: :func:`contact_rules.decide`,
    then the mapping applied to the user."""
    decision = contact_rules.decide(
        sync_on=row.sync_on,
        user_active=row.user_active,
        own_direction=row.user_direction,
        local=row.source_id in state.local_sources,
        link_state="active",
        settings=state.settings,
    )
    if decision.action is Action.DELETE:
        return Outcome(Kind.DELETE)
    if decision.action is not Action.UPDATE:
        return Outcome(Kind.LEAVE)
    try:
        fields = apply(row.resource, state.mapping.rows)
    except Exception as exc:  # one bad user must not stop the job
        return Outcome(Kind.ERROR, error=f"user {row.user_name}: {exc}")
    kind = Kind.SAME if fields == row.fields and decision.active == row.active else Kind.UPDATE
    return Outcome(kind, fields, decision.active)
