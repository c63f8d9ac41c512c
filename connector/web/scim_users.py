"""The SCIM Users store: SCIM requests become calls of the user services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from connector.db.models import Source, SuppressedUser, User
from connector.queries.user_filter import to_sql
from connector.services import groups, linking, sync_scope, users
from connector.services.context import Context
from connector.services.tokens import Principal
from connector.web.scim_errors import check_if_match, owned, scim_errors
from scim.errors import ScimError
from scim.filter import matches
from scim.schemas import CONNECTOR_USER, USER
from scim.store import Page, Query, Resource, Transform

SORT_COLUMNS = {
    "username": User.user_name_ci,
    "externalid": User.external_id,
    "id": User.id,
    "meta.created": User.created_at,
    "meta.lastmodified": User.updated_at,
    "active": User.active,
}


def representation(user: User, member_of: list[tuple[str, str]]) -> Resource:
    """The user as SCIM returns it: stored attributes plus server-owned ones.

    The connector extension appears only when the identity provider set it, so
    that a client echoing a user back (Okta's GET-then-PUT) does not turn the
    source's sync scope into a per-user override.
    """
    resource: dict[str, Any] = {
        **user.resource,
        "id": user.id,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.isoformat().replace("+00:00", "Z"),
            "lastModified": user.updated_at.isoformat().replace("+00:00", "Z"),
            "version": f'W/"{user.version}"',
        },
    }
    resource["schemas"] = list(resource.get("schemas") or [USER.schema.id])
    if member_of:
        resource["groups"] = [
            {"value": gid, "display": name, "type": "direct"} for gid, name in member_of
        ]
    return resource


def represent_all(session: Session, found: list[User]) -> list[Resource]:
    member_of = groups.groups_of(session, [u.id for u in found])
    return [representation(u, member_of[u.id]) for u in found]


def _sort_key(sort_by: str) -> Any:
    column = SORT_COLUMNS.get(sort_by.lower())
    if column is not None:
        return column
    uri, _, rest = (
        sort_by.rpartition(":") if sort_by.lower().startswith("urn:") else ("", "", sort_by)
    )
    attr, _, sub = rest.partition(".")
    found = USER.resolve(uri or None, attr, sub or None)
    if found is None:
        raise ScimError(f"cannot sort by unknown attribute {sort_by!r}", scim_type="invalidValue")
    parent = USER.resolve(uri or None, attr)
    node: Any = User.resource[uri] if uri else User.resource
    node = node[parent.name if parent else attr]
    if parent is not None and parent.multi_valued:
        node = node[0][found.name if sub else "value"]
    elif sub:
        node = node[found.name]
    return node.as_string()


class ScimUserStore:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @staticmethod
    def _user(session: Session, caller: Principal, user_id: str, *, lock: bool = False) -> User:
        return owned(session, User, user_id, caller, lock=lock)

    @scim_errors
    def search(self, caller: Principal, query: Query) -> Page:
        where: list[ColumnElement[bool]] = [User.source_id == caller.source_id]
        leftover = None
        if query.filter is not None:
            condition = to_sql(query.filter)
            if condition is None:
                leftover = query.filter
            else:
                where.append(condition)

        def work(session: Session) -> Page:
            if leftover is not None:
                hits = []
                for page in users.iter_user_pages(session, where, 500):
                    hits += [r for r in represent_all(session, page) if matches(leftover, r)]
                ordered = sorted(
                    hits, key=lambda r: r["userName"].lower(), reverse=query.descending
                )
                start = query.start_index - 1
                return Page(ordered[start : start + query.count], len(ordered))
            total = users.count(session, where)
            if query.count == 0:
                return Page([], total)
            order = _sort_key(query.sort_by) if query.sort_by else User.user_name_ci
            order_by = [order.desc() if query.descending else order.asc(), User.id]
            found = session.scalars(
                select(User)
                .where(*where)
                .order_by(*order_by)
                .offset(query.start_index - 1)
                .limit(query.count)
            ).all()
            return Page(represent_all(session, list(found)), total)

        return self.ctx.run(work)

    @scim_errors
    def get(self, caller: Principal, resource_id: str) -> Resource:
        return self.ctx.run(lambda s: represent_all(s, [self._user(s, caller, resource_id)])[0])

    @scim_errors
    def create(self, caller: Principal, resource: Resource) -> Resource:
        def work(session: Session) -> Resource:
            source = session.get(Source, caller.source_id)
            assert source is not None
            key = resource.get("externalId")
            if key:
                # An explicit create by the identity provider revives a user an admin deleted.
                for remembered in session.scalars(
                    select(SuppressedUser).where(
                        SuppressedUser.source_id == source.id, SuppressedUser.external_key == key
                    )
                ):
                    session.delete(remembered)
            decision = sync_scope.decide(source, resource)
            user = users.create(session, caller.actor, source, resource, sync_to_contact=decision)
            return represent_all(session, [user])[0]

        return self.ctx.run(work)

    @scim_errors
    def update(
        self, caller: Principal, resource_id: str, transform: Transform, if_match: str | None
    ) -> Resource:
        def work(session: Session) -> Resource:
            user = self._user(session, caller, resource_id, lock=True)
            check_if_match(if_match, user.version)
            current = represent_all(session, [user])[0]
            new = transform(current)
            users.replace(session, caller.actor, user, new)
            rescope(session, caller.actor, [user])
            return represent_all(session, [user])[0]

        return self.ctx.run(work)

    @scim_errors
    def delete(self, caller: Principal, resource_id: str, if_match: str | None) -> None:
        def work(session: Session) -> None:
            user = self._user(session, caller, resource_id)
            check_if_match(if_match, user.version)
            groups.forget_member(session, user.id)
            users.delete(session, caller.actor, user.id, remember=False)

        self.ctx.run(work)


def rescope(session: Session, actor: str, affected: list[User]) -> None:
    """Re-decide syncToContact after a user or its groups changed (the scope may say so)."""
    if not affected:
        return
    source = session.get(Source, affected[0].source_id)
    if source is None:  # pragma: no cover
        return
    state = users.load_state(session)
    for user, resource in zip(affected, represent_all(session, affected), strict=True):
        stored_choice = (user.resource.get(CONNECTOR_USER) or {}).get("syncToContact")
        decision = sync_scope.decide(
            source, {**resource, CONNECTOR_USER: {"syncToContact": stored_choice}}
        )
        if decision != user.sync_to_contact:
            linking.set_sync(
                session, user, decision, state, actor, why="decided by the source's sync scope"
            )
