"""The SCIM Groups store: groups and memberships of one source."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from connector.db.models import Group
from connector.queries.filtered_page import filtered_page
from connector.queries.group_filter import group_order, to_sql
from connector.scim_store.errors import (
    check_if_match,
    not_found,
    owned,
    scim_errors,
    source_id,
)
from connector.services import groups, sources
from connector.services.context import Context
from connector.services.rescope import members_changed
from connector.services.tokens import Principal
from scim.member_patch import MemberChanges
from scim.schemas import CORE_GROUP
from scim.store import Page, Query, Resource, Transform


def represent_all(
    session: Session, found: list[Group], *, with_members: bool = True
) -> list[Resource]:
    """Groups as SCIM resources; without ``with_members`` the member list is not read
    (nor shown: for an answer that leaves it out)."""
    members = groups.members_of(session, [g.id for g in found]) if with_members else {}
    out = []
    for group in found:
        resource: dict[str, Any] = {
            "schemas": [CORE_GROUP],
            "id": group.id,
            "displayName": group.display_name,
            "meta": {
                "resourceType": "Group",
                "created": group.created_at.isoformat().replace("+00:00", "Z"),
                "lastModified": group.updated_at.isoformat().replace("+00:00", "Z"),
                "version": f'W/"{group.version}"',
            },
        }
        if with_members:
            resource["members"] = [_member(m) for m in members[group.id]]
        if group.external_id:
            resource["externalId"] = group.external_id
        out.append(resource)
    return out


def _member(member: groups.Member) -> dict[str, Any]:
    entry = {"value": member.id, "type": member.kind}
    if member.display:
        entry["display"] = member.display
    return entry


def _fields(resource: Resource) -> tuple[str, str | None, list[str]]:
    members = [m["value"] for m in resource.get("members", []) if isinstance(m, dict)]
    return resource["displayName"], resource.get("externalId"), members


def _rescope(session: Session, caller: Principal, user_ids: set[str]) -> None:
    """Members who joined or left may now fall inside or outside the sync scope."""
    if user_ids:
        scope = sources.scope_of(session, source_id(caller))
        members_changed(session, caller.actor, scope, user_ids)


class ScimGroupStore:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @staticmethod
    def _group(session: Session, caller: Principal, group_id: str, *, lock: bool = False) -> Group:
        return owned(session, Group, group_id, caller, lock=lock)

    @scim_errors
    def search(self, caller: Principal, query: Query) -> Page:
        def work(session: Session) -> Page:
            page = filtered_page(
                session,
                Group,
                [Group.source_id == caller.source_id],
                group_order(query.sort_by, query.descending),
                start_index=query.start_index,
                count=query.count,
                scim_filter=query.filter,
                translate=to_sql,
                view=represent_all,
            )
            return Page(represent_all(session, page.rows), page.total)

        return self.ctx.read(work)

    @scim_errors
    def get(self, caller: Principal, resource_id: str) -> Resource:
        return self.ctx.read(lambda s: represent_all(s, [self._group(s, caller, resource_id)])[0])

    @scim_errors
    def create(self, caller: Principal, resource: Resource) -> Resource:
        def work(session: Session) -> Resource:
            group, added = groups.create(
                session, caller.actor, source_id(caller), *_fields(resource)
            )
            _rescope(session, caller, added)
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
            _rescope(session, caller, changed)
            return represent_all(session, [group])[0]

        return self.ctx.run(work)

    @scim_errors
    def patch_members(
        self,
        caller: Principal,
        resource_id: str,
        changes: MemberChanges,
        if_match: str | None,
        with_members: bool | None,
    ) -> Resource | None:
        """A PATCH that only adds or removes members: those rows, not the member list.

        The group's row is held from the lock to the commit, so all that runs in
        between is what the change needs: the members named are looked up before it,
        the version and the scope come with the lock, the rows, the event and the
        version bump are a statement each, the
        members are decided again only when the scope reads groups, and the group is
        read for the answer only when there is one (``with_members`` None: none)."""

        def work(session: Session) -> Resource | None:
            # Looked up before the lock; an unknown member is refused after the
            # group's own checks (404, If-Match), as before.
            named = groups.named_members(session, source_id(caller), changes.add)
            group = groups.lock(session, source_id(caller), resource_id)
            if group is None:
                raise not_found(Group, resource_id)
            check_if_match(if_match, group.version)
            changed = groups.change_members(session, caller.actor, group, named, changes.remove)
            members_changed(session, caller.actor, group.scope, changed)
            if with_members is None:
                return None
            found = self._group(session, caller, resource_id)
            return represent_all(session, [found], with_members=with_members)[0]

        return self.ctx.run(work)

    @scim_errors
    def delete(self, caller: Principal, resource_id: str, if_match: str | None) -> None:
        def work(session: Session) -> None:
            group = self._group(session, caller, resource_id)
            check_if_match(if_match, group.version)
            members = groups.delete_group(session, caller.actor, group)
            session.flush()
            _rescope(session, caller, members)

        self.ctx.run(work)
