"""Groups pushed by SCIM clients: a name and members, all within one source."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, literal, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from connector.db.models import Group, GroupMember, Source, User, new_id, utcnow
from connector.errors import Conflict, InvalidInput, NotFound
from connector.services import audit, column_text, sync_scope


def get(session: Session, source_id: int, group_id: str) -> Group:
    group = session.get(Group, group_id)
    if group is None or group.source_id != source_id:
        raise NotFound(f"no group with id {group_id!r}")
    return group


def member_ids(session: Session, group_id: str) -> list[str]:
    return list(
        session.scalars(
            select(GroupMember.member_id)
            .where(GroupMember.group_id == group_id)
            .order_by(GroupMember.member_id)
        )
    )


# Built once (the member checks of every group write): which of some ids are users
# and which are groups of a source.
_KNOWN = union_all(
    select(User.id, literal("User")).where(
        User.id.in_(bindparam("ids", expanding=True)), User.source_id == bindparam("source_id")
    ),
    select(Group.id, literal("Group")).where(
        Group.id.in_(bindparam("ids", expanding=True)), Group.source_id == bindparam("source_id")
    ),
)


def _known(session: Session, source_id: int, ids: list[str]) -> dict[str, str]:
    """Each id that is a user or group of the source, with its kind ("User", "Group")."""
    kinds: dict[str, str] = {}
    for member_id, kind in session.connection().execute(
        _KNOWN, {"ids": ids, "source_id": source_id}
    ):
        if kinds.get(member_id) != "User":
            kinds[member_id] = kind
    return kinds


def _check_members(session: Session, source_id: int, ids: Iterable[str]) -> list[str]:
    """The ids, once each and in order; InvalidInput names the first that is not a
    user or group of the source."""
    return list(named_members(session, source_id, ids).check())


@dataclass(frozen=True)
class NamedMembers:
    """The members a change names, looked up: a member PATCH looks them up before it
    locks the group's row, so that the row is not held for it."""

    kinds: dict[str, str]  # each known id (once, in the order named) → "User" or "Group"
    unknown: list[str]  # the named ids that are neither a user nor a group of the source

    def check(self) -> dict[str, str]:
        """The kinds; InvalidInput names the first id that is not a member's."""
        if self.unknown:
            raise InvalidInput(
                f"member {self.unknown[0]!r} is not a user or group of this source",
                field="members",
            )
        return self.kinds


def named_members(session: Session, source_id: int, ids: Iterable[str]) -> NamedMembers:
    wanted = list(dict.fromkeys(ids))
    kinds = _known(session, source_id, wanted) if wanted else {}
    return NamedMembers(
        {m: kinds[m] for m in wanted if m in kinds}, [m for m in wanted if m not in kinds]
    )


@dataclass(frozen=True)
class Locked:
    """A group whose row this transaction holds, as a change of its members needs it."""

    id: str
    source_id: int
    version: int  # the version it had: If-Match is checked against it
    scope: sync_scope.Scope  # its source's sync scope (who decides the members' switches)
    # PostgreSQL: the lock has stepped the version already (the time it had, to put
    # back if nothing changes); SQLite: None, the change steps it.
    stepped_from: datetime | None = None


_TABLE = cast(Table, Group.__table__)
# SQLite: the group's row (the transaction holds the database) with what the change
# needs: its version (If-Match) and its source's scope.
_LOCK = (
    select(Group.version, Source.sync_scope)
    .join(Source, Source.id == Group.source_id)
    .where(Group.id == bindparam("id"), Group.source_id == bindparam("source_id"))
)
# PostgreSQL: the row locked and its version stepped in one statement (the lock is held
# to the commit, so the statements it waits for are as few as can be); the row as it
# was comes back from the locking read it joins (RETURNING shows the new values only).
_OLD = (
    select(_TABLE.c.id, _TABLE.c.version, _TABLE.c.updated_at)
    .where(_TABLE.c.id == bindparam("group_id"), _TABLE.c.source_id == bindparam("in_source"))
    .with_for_update()
    .subquery("old")
)
_SOURCE = cast(Table, Source.__table__)
_LOCK_AND_STEP = (
    update(_TABLE)
    .where(_TABLE.c.id == _OLD.c.id, _SOURCE.c.id == _TABLE.c.source_id)
    .values(version=_TABLE.c.version + 1, updated_at=bindparam("now"))
    .returning(_OLD.c.version, _OLD.c.updated_at, _SOURCE.c.sync_scope)
)
_STEP_BACK = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("group_id"))
    .values(version=bindparam("old"), updated_at=bindparam("old_updated_at"))
)
_BUMP = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("group_id"), _TABLE.c.version == bindparam("old"))
    .values(version=bindparam("new"), updated_at=bindparam("now"))
)
_REMOVE = (
    delete(GroupMember)
    .where(
        GroupMember.group_id == bindparam("group_id"),
        GroupMember.member_id.in_(bindparam("ids", expanding=True)),
    )
    .returning(GroupMember.member_id)
)
# A member already present is left as it is; the rows inserted come back.
_ADD = {
    dialect: module.insert(GroupMember)
    .on_conflict_do_nothing(index_elements=[GroupMember.group_id, GroupMember.member_id])
    .returning(GroupMember.member_id)
    for dialect, module in (("sqlite", sqlite), ("postgresql", postgresql))
}


def lock(session: Session, source_id: int, group_id: str) -> Locked | None:
    """The source's group ``group_id``, its row locked until the transaction ends; None
    when the source has no such group.

    On PostgreSQL the version is stepped with the lock, as :func:`change_members` would
    step it: a change of nothing steps it back, and a refusal (a stale If-Match, an
    unknown member) rolls the transaction back."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        row = connection.execute(_LOCK, {"id": group_id, "source_id": source_id}).first()
        if row is None:
            return None
        return Locked(group_id, source_id, row[0], sync_scope.stored_scope(row[1]))
    stepped = connection.execute(
        _LOCK_AND_STEP, {"group_id": group_id, "in_source": source_id, "now": utcnow()}
    ).first()
    if stepped is None:
        return None
    version, updated_at, scope = stepped
    return Locked(
        group_id, source_id, version, sync_scope.stored_scope(scope), stepped_from=updated_at
    )


def change_members(
    session: Session, actor: str, group: Locked, add: NamedMembers, remove: Iterable[str]
) -> set[str]:
    """Add and remove a few members without reading or rewriting the member list.

    The rules of :func:`replace` for the members it names: an added member is a user
    or group of the group's source, adding a member or removing a non-member changes
    nothing; a change steps the group's version by one, as the ORM's version counter
    does (the row is locked, so the version read is the current one; on PostgreSQL
    :func:`lock` stepped it, and a change of nothing steps it back), and is audited,
    with the members that left (``before.removedMembers``) and joined
    (``after.addedMembers``) instead of both whole lists. Past the ORM: the rows, the
    event and the version are one statement each.
    Returns the ids whose membership changed.
    """
    kinds = add.check()  # looked up by named_members (before the lock)
    leaving = list(dict.fromkeys(remove))
    connection = session.connection()
    removed: set[str] = set()
    if leaving:
        removed = set(connection.execute(_REMOVE, {"group_id": group.id, "ids": leaving}).scalars())
    added: set[str] = set()
    if kinds:
        rows = [
            {"group_id": group.id, "member_id": m, "member_type": kinds[m]} for m in sorted(kinds)
        ]
        added = set(connection.execute(_ADD[connection.dialect.name], rows).scalars())
    if not (added or removed):
        if group.stepped_from is not None:
            connection.execute(
                _STEP_BACK,
                {
                    "group_id": group.id,
                    "old": group.version,
                    "old_updated_at": group.stepped_from,
                },
            )
        return set()
    audit.record(
        session,
        actor,
        "group.update",
        "group",
        group.id,
        {"removedMembers": sorted(removed)},
        {"addedMembers": sorted(added)},
        diff=False,
    )
    if group.stepped_from is not None:
        return added | removed
    bumped = connection.execute(
        _BUMP,
        {"group_id": group.id, "old": group.version, "new": group.version + 1, "now": utcnow()},
    )
    if bumped.rowcount != 1:  # as the ORM's version check: the attempt is run again
        raise StaleDataError(f"group {group.id!r} is no longer at version {group.version}")
    return added | removed


def _kind(member_id: str, users: set[str]) -> str:
    return "User" if member_id in users else "Group"


def _write_members(session: Session, group: Group, ids: list[str]) -> tuple[set[str], set[str]]:
    """Set the members; returns (added, removed) user ids."""
    before = set(member_ids(session, group.id))
    after = set(ids)
    removed, added = before - after, after - before
    if removed:
        session.execute(
            delete(GroupMember).where(
                GroupMember.group_id == group.id, GroupMember.member_id.in_(removed)
            )
        )
    users = set(session.scalars(select(User.id).where(User.id.in_(added)))) if added else set()
    for member in sorted(added):
        session.add(
            GroupMember(
                group_id=group.id,
                member_id=member,
                member_type=_kind(member, users),
            )
        )
    return added, removed


def _check_name(session: Session, group: Group) -> None:
    clash = session.scalars(
        select(Group.id).where(
            Group.source_id == group.source_id,
            Group.display_name_ci == group.display_name_ci,
            Group.id != group.id,
        )
    ).first()
    if clash is not None:
        raise Conflict(f"a group named {group.display_name!r} already exists", field="displayName")


def check_columns(display_name: str, external_id: str | None) -> None:
    """A group's name and externalId fit their columns (see column_text)."""
    column_text.check(Group.display_name, display_name, "displayName")
    column_text.check(Group.display_name_ci, display_name, "displayName", lowered=True)
    column_text.check(Group.external_id, external_id, "externalId")


def create(
    session: Session,
    actor: str,
    source_id: int,
    display_name: str,
    external_id: str | None,
    members: list[str],
) -> tuple[Group, set[str]]:
    check_columns(display_name, external_id)
    group = Group(
        id=new_id(),
        source_id=source_id,
        display_name=display_name,
        display_name_ci=display_name.lower(),
        external_id=external_id,
    )
    _check_name(session, group)
    ids = _check_members(session, source_id, members)
    session.add(group)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a group named {display_name!r} already exists") from exc
    added, _ = _write_members(session, group, ids)
    audit.record(
        session,
        actor,
        "group.create",
        "group",
        group.id,
        None,
        {"displayName": display_name, "externalId": external_id, "members": sorted(ids)},
        diff=False,
    )
    return group, added


def replace(
    session: Session,
    actor: str,
    group: Group,
    display_name: str,
    external_id: str | None,
    members: list[str],
) -> set[str]:
    """Replace name and members; returns the user ids whose membership changed."""
    check_columns(display_name, external_id)
    before: dict[str, Any] = {
        "displayName": group.display_name,
        "externalId": group.external_id,
        "members": member_ids(session, group.id),
    }
    group.display_name = display_name
    group.display_name_ci = display_name.lower()
    group.external_id = external_id
    _check_name(session, group)
    ids = _check_members(session, group.source_id, members)
    added, removed = _write_members(session, group, ids)
    after = {"displayName": display_name, "externalId": external_id, "members": sorted(ids)}
    if before != after:
        group.updated_at = utcnow()
        audit.record(session, actor, "group.update", "group", group.id, before, after)
    return added | removed


def delete_group(session: Session, actor: str, group: Group) -> set[str]:
    members = set(member_ids(session, group.id))
    audit.record(
        session,
        actor,
        "group.delete",
        "group",
        group.id,
        {"displayName": group.display_name, "members": sorted(members)},
        None,
        diff=False,
    )
    session.execute(delete(GroupMember).where(GroupMember.member_id == group.id))
    session.delete(group)
    return members


# Built once: every SCIM read of a user asks it. One user (a GET, a PATCH) gets a
# plain "=": an expanding IN is rewritten for its values on every execution.
_GROUPS_SELECT = select(GroupMember.member_id, Group.id, Group.display_name).join(
    Group, Group.id == GroupMember.group_id
)
_GROUPS_OF = _GROUPS_SELECT.where(
    GroupMember.member_id.in_(bindparam("ids", expanding=True))
).order_by(Group.display_name_ci)
_GROUPS_OF_ONE = _GROUPS_SELECT.where(GroupMember.member_id == bindparam("id")).order_by(
    Group.display_name_ci
)


def groups_of(session: Session, user_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Each user's direct groups as (id, displayName), for the read-only ``groups`` attribute."""
    out: dict[str, list[tuple[str, str]]] = {u: [] for u in user_ids}
    if not user_ids:
        return out
    connection = session.connection()
    if len(user_ids) == 1:
        rows = connection.execute(_GROUPS_OF_ONE, {"id": user_ids[0]}).all()
    else:
        rows = connection.execute(_GROUPS_OF, {"ids": list(user_ids)}).all()
    for member, group_id, name in rows:
        out[member].append((group_id, name))
    return out


_FORGET_MEMBER = delete(GroupMember).where(GroupMember.member_id == bindparam("member_id"))


def forget_member(session: Session, member_id: str) -> None:
    """Remove a deleted user or group from every group it belonged to."""
    session.execute(_FORGET_MEMBER, {"member_id": member_id})


@dataclass(frozen=True)
class Member:
    id: str
    kind: str  # "User" or "Group"
    display: str | None  # the user's displayName, else its userName


def members_of(session: Session, group_ids: list[str]) -> dict[str, list[Member]]:
    """Each group's members in id order, with the name a member list shows."""
    out: dict[str, list[Member]] = {g: [] for g in group_ids}
    if not group_ids:
        return out
    rows = session.execute(
        select(
            GroupMember.group_id,
            GroupMember.member_id,
            GroupMember.member_type,
            User.user_name,
            # Only the displayName of each resource: a large group's members are
            # many resources to decode.
            User.resource["displayName"].as_string(),
        )
        .outerjoin(User, User.id == GroupMember.member_id)
        .where(GroupMember.group_id.in_(group_ids))
        .order_by(GroupMember.member_id)
    ).all()
    for group_id, member_id, kind, user_name, display_name in rows:
        out[group_id].append(Member(member_id, kind, display_name or user_name))
    return out
