"""userName is unique across sources (case-insensitively); externalId is unique per source.

Why one module: a single write, a batch write (a directory page) and the fast
import's plan all check the same two rules. The check is batch-shaped, two
queries for any number of users of one source; one user is a batch of one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy import and_, bindparam, inspect, or_, select
from sqlalchemy.orm import Session

from connector.db.models import User
from connector.errors import Conflict
from connector.queries.column_in import column_in

SourceKey = tuple[int, str]  # (source id, externalId)


@dataclass(frozen=True)
class Holders:
    """Who holds some userNames and some externalIds now."""

    names: dict[str, str]  # lower-cased userName → id of the user that has it
    keys: dict[SourceKey, str]  # (source id, externalId) → id of the user that has it

    def any(self) -> bool:
        return bool(self.names or self.keys)


def holders(session: Session, names: Collection[str], keys: Collection[SourceKey]) -> Holders:
    """The users that hold any of ``names`` (lower-cased) or ``keys``."""
    with session.no_autoflush:  # a pending rename must not be flushed into a clash first
        if len(names) == 1 and len(keys) == 1:
            return _one_user_holders(session, next(iter(names)), next(iter(keys)))
        return Holders(_name_holders(session, names), _key_holders(session, keys))


# Built once: every SCIM create asks it.
_ONE_USER_HOLDERS = select(User.user_name_ci, User.source_id, User.external_id, User.id).where(
    or_(
        User.user_name_ci == bindparam("name"),
        and_(
            User.source_id == bindparam("source_id"), User.external_id == bindparam("external_id")
        ),
    )
)


def _one_user_holders(session: Session, name: str, key: SourceKey) -> Holders:
    """One user's two keys in one query (each side of the OR has its unique index)."""
    source_id, external_id = key
    names: dict[str, str] = {}
    keys: dict[SourceKey, str] = {}
    found = session.execute(
        _ONE_USER_HOLDERS, {"name": name, "source_id": source_id, "external_id": external_id}
    )
    for user_name_ci, holder_source, holder_key, user_id in found:
        if user_name_ci == name:
            names[name] = user_id
        if holder_source == source_id and holder_key == external_id:
            keys[key] = user_id
    return Holders(names, keys)


def _name_holders(session: Session, names: Collection[str]) -> dict[str, str]:
    if not names:
        return {}
    # One name is a plain "=" (column_in), a statement compiled once and cached.
    query = select(User.user_name_ci, User.id).where(column_in(User.user_name_ci, names))
    return {name: user_id for name, user_id in session.execute(query)}


def _key_holders(session: Session, keys: Collection[SourceKey]) -> dict[SourceKey, str]:
    """One query per source (the unique index leads with the source)."""
    found: dict[SourceKey, str] = {}
    for source_id, group in groupby(sorted(keys), key=lambda k: k[0]):
        query = select(User.external_id, User.id).where(
            User.source_id == source_id, column_in(User.external_id, [k for _, k in group])
        )
        for key, user_id in session.execute(query):
            if key is not None:
                found[(source_id, key)] = user_id
    return found


def conflict(
    found: Holders, user_id: str, source_id: int, user_name: str, external_id: str | None
) -> Conflict | None:
    """Why user ``user_id`` cannot have this userName and externalId (None: it can)."""
    if found.names.get(user_name.lower(), user_id) != user_id:
        return Conflict(f"userName {user_name!r} is already taken", field="userName")
    if external_id is not None and found.keys.get((source_id, external_id), user_id) != user_id:
        return Conflict(
            f"externalId {external_id!r} is already used in this source", field="externalId"
        )
    return None


_KEY_COLUMNS = ("user_name_ci", "external_id", "source_id")


def check(session: Session, user: User) -> None:
    """Raise the Conflict that keeps ``user`` (with its new values) from being stored.

    A stored user whose userName, externalId and source are unchanged needs no query:
    it holds them already, and the unique indexes say no one else does.
    """
    state = inspect(user)
    if state.persistent and not any(
        state.attrs[name].history.has_changes() for name in _KEY_COLUMNS
    ):
        return
    keys = [(user.source_id, user.external_id)] if user.external_id is not None else []
    found = holders(session, [user.user_name_ci], keys)
    refused = conflict(found, user.id, user.source_id, user.user_name, user.external_id)
    if refused is not None:
        raise refused


@dataclass
class Batch:
    """The userNames and externalIds the earlier users of one batch claimed."""

    names: dict[str, str] = field(default_factory=dict)
    keys: dict[SourceKey, str] = field(default_factory=dict)

    def claim(
        self, user_id: str, source_id: int, user_name: str, external_id: str | None
    ) -> Conflict | None:
        """Claim the user's keys; the Conflict if another user of the batch has one."""
        name = user_name.lower()
        key = (source_id, external_id) if external_id is not None else None
        if self.names.get(name, user_id) != user_id:
            return Conflict(f"userName {user_name!r} appears twice in the batch")
        if key is not None and self.keys.get(key, user_id) != user_id:
            return Conflict(f"externalId {external_id!r} appears twice in the batch")
        self.names[name] = user_id
        if key is not None:
            self.keys[key] = user_id
        return None

    def holders(self, session: Session) -> Holders:
        """Who outside (or inside) the batch holds its keys now."""
        return holders(session, list(self.names), list(self.keys))
