"""Who owns a user's values: the connector (local users) or an identity provider or directory.

Why one module: the admin API's user edit, a contact edit in reversed direction and
the contact's marker must agree. A user of a SCIM client or an LDAP directory gets its
values from that source at the source's next change, so nothing here may change them:
neither an admin's edit of the user nor an edit of its contact flowing back. Reversing
the direction therefore makes the contact the source for local users only.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db.models import Source
from connector.services.sources import LOCAL

LDAP = "ldap"


def owned_by_source(kind: str | None) -> bool:
    """True for users of an identity provider or directory (any kind but local)."""
    return kind != LOCAL


def where_to_change(kind: str | None) -> str:
    """Where an admin changes the values of a user of a source of this kind."""
    return "change it in the directory" if kind == LDAP else "change it at the identity provider"


def managed_by(subject: str, source_name: str, kind: str | None) -> str:
    """The reason a value cannot be changed here, e.g. "user 'x' is managed by source
    'okta'; change it at the identity provider"."""
    return f"{subject} is managed by source {source_name!r}; {where_to_change(kind)}"


_LOCAL_IDS = select(Source.id).where(Source.kind == LOCAL)  # built once: writes ask it


def local_source_ids(session: Session) -> frozenset[int]:
    """The ids of the sources whose users the connector owns (the local one)."""
    return frozenset(session.scalars(_LOCAL_IDS))


def kinds(session: Session) -> dict[int, tuple[str, str]]:
    """Every source's id → (name, kind); there are few sources."""
    rows = session.execute(select(Source.id, Source.name, Source.kind)).all()
    return {source_id: (name, kind) for source_id, name, kind in rows}
