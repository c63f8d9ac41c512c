"""The SCIM Users store: SCIM requests become calls of the user services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from connector.db.models import User
from connector.errors import ServiceError
from connector.queries.filtered_page import filtered_page
from connector.queries.user_filter import in_source, key_lookup, to_sql
from connector.queries.user_order import user_order
from connector.scim_store.errors import (
    check_if_match,
    not_found,
    owned,
    scim_errors,
    source_id,
)
from connector.services import groups, sources, sync_scope, user_resources, users
from connector.services.context import Context
from connector.services.rescope import rescope
from connector.services.tokens import Principal
from scim.store import Page, Query, Resource, Transform


class ScimUserStore:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @staticmethod
    def _user(session: Session, caller: Principal, user_id: str, *, lock: bool = False) -> User:
        return owned(session, User, user_id, caller, lock=lock)

    @scim_errors
    def search(self, caller: Principal, query: Query) -> Page:
        lookup = key_lookup(query.filter) if query.start_index == 1 and query.count else None

        def work(session: Session) -> Page:
            if lookup is not None:  # an identity provider's lookup: one user or none
                found = user_resources.by_key(session, source_id(caller), lookup)
                return Page(user_resources.resources(session, found), len(found))
            page = filtered_page(
                session,
                User,
                [in_source(source_id(caller), query.filter)],
                user_order(query.sort_by, query.descending),
                start_index=query.start_index,
                count=query.count,
                scim_filter=query.filter,
                translate=to_sql,
                view=user_resources.resources,
                columns=user_resources.VIEW_COLUMNS,
            )
            return Page(user_resources.resources(session, page.rows), page.total)

        return self.ctx.read(work)

    @scim_errors
    def get(self, caller: Principal, resource_id: str) -> Resource:
        def work(session: Session) -> Resource:
            found = user_resources.stored(session, source_id(caller), resource_id)
            if found is None:
                raise not_found(User, resource_id)
            return user_resources.resources(session, [found])[0]

        return self.ctx.read(work)

    @scim_errors
    def create(self, caller: Principal, resource: Resource) -> Resource:
        def work(session: Session) -> Resource:
            source = sources.by_id(session, source_id(caller))
            assert source is not None
            key = resource.get("externalId")
            if key:
                users.forget_deletion(session, source.id, key)
            decision = sync_scope.decide(source, resource)
            # The batch creation with one item: the same rules as users.create, past
            # the ORM's unit of work, which cost a SCIM create more than its inserts.
            (made,) = users.create_many(
                session, caller.actor, source, [users.NewUser(resource, decision)]
            )
            if isinstance(made, ServiceError):
                raise made
            return user_resources.resource(made, [])  # a new user is in no group yet

        return self.ctx.run(work)

    @scim_errors
    def update(
        self, caller: Principal, resource_id: str, transform: Transform, if_match: str | None
    ) -> Resource:
        def work(session: Session) -> Resource:
            user = self._user(session, caller, resource_id, lock=True)
            check_if_match(if_match, user.version)
            member_of = groups.groups_of(session, [user.id])[user.id]
            new = transform(user_resources.resource(user, member_of))
            users.replace(session, caller.actor, user, new)
            rescope(session, caller.actor, [user])
            # A change of the user's attributes leaves its groups as they were.
            return user_resources.resource(user, member_of)

        return self.ctx.run(work)

    @scim_errors
    def delete(self, caller: Principal, resource_id: str, if_match: str | None) -> None:
        def work(session: Session) -> None:
            user = self._user(session, caller, resource_id)
            check_if_match(if_match, user.version)
            users.delete(session, caller.actor, user.id, remember=False)  # keeps its groups
            groups.forget_member(session, user.id)

        self.ctx.run(work)
