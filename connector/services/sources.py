"""Sources of users: ``local`` (the admin), SCIM clients and LDAP directories."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db.models import Source

LOCAL = "local"


def get_or_create(session: Session, name: str, kind: str) -> Source:
    source = session.scalars(select(Source).where(Source.name == name)).first()
    if source is not None:
        return source
    source = Source(name=name, kind=kind, sync_scope={"scope": False})
    session.add(source)
    session.flush()
    return source


def by_id(session: Session, source_id: int) -> Source | None:
    return session.get(Source, source_id)
