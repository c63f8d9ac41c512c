"""A user as a SCIM resource: what the SCIM endpoint returns, and what filters see.

Stored attributes plus the server's own (``id``, ``meta``) and the read-only
``groups``. A SCIM filter means the same wherever it is used: the SQL
translation (connector.queries.user_filter) and the evaluator applied to this
view agree, whether the filter lists users (SCIM, the admin API) or decides a
source's sync scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from connector.db.models import User
from connector.queries.user_filter import KeyLookup
from connector.services import groups
from scim.schemas import USER


class StoredUser(Protocol):
    """What a SCIM view reads of a user: an ORM ``User``, a batch creation's
    ``CreatedUser``, or a row of :data:`VIEW_COLUMNS`."""

    @property
    def id(self) -> str: ...
    @property
    def resource(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def version(self) -> int: ...


_TABLE = User.__table__.c
VIEW_COLUMNS = (_TABLE.id, _TABLE.resource, _TABLE.created_at, _TABLE.updated_at, _TABLE.version)
_ONE_OF_SOURCE = select(*VIEW_COLUMNS).where(
    _TABLE.id == bindparam("id"), _TABLE.source_id == bindparam("source_id")
)


def stored(session: Session, source_id: int, user_id: str) -> StoredUser | None:
    """One user of a source as its view needs it, read past the ORM (no identity map,
    no instance): a SCIM GET by id spent most of its time in the ORM's load."""
    row = session.connection().execute(_ONE_OF_SOURCE, {"id": user_id, "source_id": source_id})
    return row.first()  # type: ignore[return-value]


_BY_KEY = {
    column: select(*VIEW_COLUMNS).where(
        _TABLE.source_id == bindparam("source_id"), _TABLE[column] == bindparam("key")
    )
    for column in ("user_name_ci", "external_id")
}


def by_key(session: Session, source_id: int, lookup: KeyLookup) -> list[StoredUser]:
    """The user of a source that ``lookup`` names (none or one: both keys are unique),
    with a statement built once: translating and building the filter's condition
    cost a lookup over a quarter of its CPU."""
    rows = session.connection().execute(
        _BY_KEY[lookup.column], {"source_id": source_id, "key": lookup.key}
    )
    return list(rows.all())  # type: ignore[arg-type]


def resource(user: StoredUser, member_of: list[tuple[str, str]]) -> dict[str, Any]:
    """The user with its groups (id, displayName) as SCIM shows it.

    The connector extension appears only when the identity provider set it, so
    that a client echoing a user back (Okta's GET-then-PUT) does not turn the
    source's sync scope into a per-user override.
    """
    out: dict[str, Any] = {
        **user.resource,
        "id": user.id,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.isoformat().replace("+00:00", "Z"),
            "lastModified": user.updated_at.isoformat().replace("+00:00", "Z"),
            "version": f'W/"{user.version}"',
        },
    }
    out["schemas"] = list(out.get("schemas") or [USER.schema.id])
    if member_of:
        out["groups"] = [
            {"value": gid, "display": name, "type": "direct"} for gid, name in member_of
        ]
    return out


def resources(session: Session, found: Sequence[StoredUser]) -> list[dict[str, Any]]:
    """Several users as SCIM resources, with one query for all their groups."""
    member_of = groups.groups_of(session, [u.id for u in found])
    return [resource(u, member_of[u.id]) for u in found]
