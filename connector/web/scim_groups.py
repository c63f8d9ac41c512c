"""The SCIM Groups store: groups and memberships of one source."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from connector.db.models import Group, GroupMember, User
from connector.services import groups
from connector.services.context import Context
from connector.services.tokens import Principal
from connector.web.scim_errors import check_if_match, owned, scim_errors
from connector.web.scim_users import rescope
from scim.filter import Compare, Expr, matches
from scim.schemas import CORE_GROUP
from scim.store import Page, Query, Resource, Transform

COLUMNS = {"displayname": Group.display_name_ci, "externalid": Group.external_id, "id": Group.id}


def _simple_sql(expr: Expr | None) -> ColumnElement[bool] | None:
    """The lookups identity providers send (``displayName eq "…"``) go to indexed columns."""
    if not (
        isinstance(expr, Compare)
        and expr.op == "eq"
        and isinstance(expr.value, str)
        and expr.ref.sub is None
        and expr.ref.uri in (None, CORE_GROUP)
    ):
        return None
    column = COLUMNS.get(expr.ref.attr.lower())
    if column is None:
        return None
    value = expr.value.lower() if column is Group.display_name_ci else expr.value
    return column == value


def represent_all(session: Session, found: list[Group]) -> list[Resource]:
    ids = [g.id for g in found]
    members: dict[str, list[dict[str, Any]]] = {g: [] for g in ids}
    if ids:
        rows = session.execute(
            select(
                GroupMember.group_id,
                GroupMember.member_id,
                GroupMember.member_type,
                User.user_name,
                User.resource,
            )
            .outerjoin(User, User.id == GroupMember.member_id)
            .where(GroupMember.group_id.in_(ids))
            .order_by(GroupMember.member_id)
        ).all()
        for group_id, member_id, kind, user_name, resource in rows:
            display = (resource or {}).get("displayName") or user_name
            entry = {"value": member_id, "type": kind}
            if display:
                entry["display"] = display
            members[group_id].append(entry)
    out = []
    for group in found:
        resource: dict[str, Any] = {
            "schemas": [CORE_GROUP],
            "id": group.id,
            "displayName": group.display_name,
            "members": members[group.id],
            "meta": {
                "resourceType": "Group",
                "created": group.created_at.isoformat().replace("+00:00", "Z"),
                "lastModified": group.updated_at.isoformat().replace("+00:00", "Z"),
                "version": f'W/"{group.version}"',
            },
        }
        if group.external_id:
            resource["externalId"] = group.external_id
        out.append(resource)
    return out


def _fields(resource: Resource) -> tuple[str, str | None, list[str]]:
    members = [m["value"] for m in resource.get("members", []) if isinstance(m, dict)]
    return resource["displayName"], resource.get("externalId"), members


def _affected_users(session: Session, ids: set[str]) -> list[User]:
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))


class ScimGroupStore:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @staticmethod
    def _group(session: Session, caller: Principal, group_id: str, *, lock: bool = False) -> Group:
        return owned(session, Group, group_id, caller, lock=lock)

    @scim_errors
    def search(self, caller: Principal, query: Query) -> Page:
        where: list[ColumnElement[bool]] = [Group.source_id == caller.source_id]
        condition = _simple_sql(query.filter)
        leftover = query.filter if condition is None else None
        if condition is not None:
            where.append(condition)

        def work(session: Session) -> Page:
            order = Group.display_name_ci.desc() if query.descending else Group.display_name_ci
            if leftover is None:
                total = session.scalar(select(func.count()).select_from(Group).where(*where))
                found = (
                    session.scalars(
                        select(Group)
                        .where(*where)
                        .order_by(order, Group.id)
                        .offset(query.start_index - 1)
                        .limit(query.count)
                    ).all()
                    if query.count
                    else []
                )
                return Page(represent_all(session, list(found)), total or 0)
            every = session.scalars(select(Group).where(*where).order_by(order, Group.id)).all()
            hits = [r for r in represent_all(session, list(every)) if matches(leftover, r)]
            start = query.start_index - 1
            return Page(hits[start : start + query.count], len(hits))

        return self.ctx.run(work)

    @scim_errors
    def get(self, caller: Principal, resource_id: str) -> Resource:
        return self.ctx.run(lambda s: represent_all(s, [self._group(s, caller, resource_id)])[0])

    @scim_errors
    def create(self, caller: Principal, resource: Resource) -> Resource:
        def work(session: Session) -> Resource:
            group, added = groups.create(
                session, caller.actor, caller.source_id, *_fields(resource)
            )
            rescope(session, caller.actor, _affected_users(session, added))
            return represent_all(session, [group])[0]

        return self.ctx.run(work)

    @scim_errors
    def update(
        self, caller: Principal, resource_id: str, transform: Transform, if_match: str | None
    ) -> Resource:
        def work(session: Session) -> Resource:
            group = self._group(session, caller, resource_id, lock=True)
            check_if_match(if_match, group.version)
            new = transform(represent_all(session, [group])[0])
            changed = groups.replace(session, caller.actor, group, *_fields(new))
            rescope(session, caller.actor, _affected_users(session, changed))
            return represent_all(session, [group])[0]

        return self.ctx.run(work)

    @scim_errors
    def delete(self, caller: Principal, resource_id: str, if_match: str | None) -> None:
        def work(session: Session) -> None:
            group = self._group(session, caller, resource_id)
            check_if_match(if_match, group.version)
            members = groups.delete_group(session, caller.actor, group)
            session.flush()
            rescope(session, caller.actor, _affected_users(session, members))

        self.ctx.run(work)
