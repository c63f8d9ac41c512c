"""Sources of users: ``local`` (the admin), SCIM clients and LDAP directories."""

from __future__ import annotations

import re

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from connector.db.models import Source, SyncRun
from connector.errors import InvalidInput, NotFound
from connector.services import audit, sync_scope

LOCAL = "local"
UNCHANGED = object()  # a setting a PATCH leaves as it is

# Source names appear in API paths (/api/v1/sources/NAME/...), log lines and audit
# actors: a letter or digit, then up to 63 letters, digits, '.', '_' or '-'.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = (
    "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
    "(no spaces: the name appears in URLs)"
)


def name_problem(name: object) -> str | None:
    """What is wrong with a source name, or None when it is a valid one (pure)."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        return f"source name {name!r} is not valid: use {NAME_RULE}"
    return None


def check_name(name: object, field: str = "source") -> str:
    """The name when valid; else InvalidInput naming ``field``. Every way a source is made
    asks this (the CLI and the admin API through tokens, LDAP configuration through
    ``name_problem``)."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidInput(problem, field=field)
    assert isinstance(name, str)
    return name


def by_name(session: Session, name: str) -> Source | None:
    return session.scalars(select(Source).where(Source.name == name)).first()


def get_or_create(session: Session, name: str, kind: str) -> Source:
    source = by_name(session, name)
    if source is not None:
        return source
    check_name(name)
    source = Source(name=name, kind=kind, sync_scope={"scope": False})
    session.add(source)
    session.flush()
    return source


def local(session: Session) -> Source:
    """The admin's own source, for users created in the console or the API."""
    return get_or_create(session, LOCAL, LOCAL)


def by_id(session: Session, source_id: int) -> Source | None:
    return session.get(Source, source_id)


# Built once (every SCIM change of a user asks it): a statement built per call costs
# more CPU than SQLite takes to answer it.
_SCOPE_OF = select(Source.sync_scope).where(Source.id == bindparam("id"))


def scope_of(session: Session, source_id: int) -> sync_scope.Scope:
    """The source's sync scope (true, false or a filter), without loading the source."""
    return sync_scope.stored_scope(session.scalar(_SCOPE_OF, {"id": source_id}))


def all_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name)))


def set_sync_scope(session: Session, actor: str, name: str, scope: object) -> Source:
    """Which of a source's users get contacts: true, false or a SCIM filter."""
    source = by_name(session, name)
    if source is None:
        raise NotFound(f"no source named {name!r}")
    value = sync_scope.validated_scope(scope)
    audit.record(
        session,
        actor,
        "source.scope",
        "source",
        name,
        {"syncScope": source.sync_scope.get("scope")},
        {"syncScope": value},
    )
    source.sync_scope = {"scope": value}
    return source


def sync_run(session: Session, run_id: int) -> SyncRun:
    """A run of a source's synchronisation, by id."""
    run = session.get(SyncRun, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id}")
    return run
