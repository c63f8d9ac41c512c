"""The sync switch decided again when what a source's sync scope sees has changed.

A SCIM source's scope may be a filter on its users as the identity provider
sees them, groups included (see connector.services.sync_scope). So after a
user's attributes change, or its groups under a scope that reads them
(:func:`members_changed`), each affected user's switch is decided again; a
``syncToContact`` the provider set on the user still wins, and a switch an admin
set (``User.sync_set_by_admin``) is not decided again at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db.models import Source, User
from connector.errors import InvalidInput
from connector.services import audit, linking, sources, sync_scope, user_resources, users
from scim.schemas import CONNECTOR_USER


def rescope(session: Session, actor: str, affected: Sequence[User]) -> None:
    """Turn each affected user's sync switch to what its source's scope now decides.

    ``affected`` users belong to one source.
    """
    if not any(sync_scope.follows_source(u) for u in affected):
        return
    scope = sources.scope_of(session, affected[0].source_id)
    state = users.load_state(session)
    followers = [u for u in affected if sync_scope.follows_source(u)]
    for user, resource in zip(followers, views(session, scope, followers), strict=True):
        decision = decided(scope, user, resource)
        if decision is not None and decision != user.sync_to_contact:
            linking.set_sync(
                session, user, decision, state, actor, why="decided by the source's sync scope"
            )


def members_changed(
    session: Session, actor: str, scope: sync_scope.Scope, member_ids: Collection[str]
) -> None:
    """Members who joined or left a group of a source whose scope is ``scope``: decided
    again only when the scope reads their groups (sync_scope.reads_groups); under any
    other scope nothing the decision reads has changed. Ids of groups are ignored."""
    if member_ids and sync_scope.reads_groups(scope):
        rescope(session, actor, users.by_ids(session, member_ids))


def views(session: Session, scope: sync_scope.Scope, found: Sequence[User]) -> list[dict[str, Any]]:
    """The users as the IdP sees them, groups included, for :func:`decided`; read only
    when ``scope`` reads them (a filter), else empty views."""
    if sync_scope.reads_resource(scope):
        return user_resources.resources(session, list(found))
    return [{} for _ in found]


def decided(scope: sync_scope.Scope, user: User, resource: dict[str, Any]) -> bool | None:
    """The switch ``scope`` gives ``user`` (``resource``: the user as SCIM shows it, with
    its groups); None when an admin set the switch (the scope does not decide it).

    The one decision a scope change, a user's change and their previews all ask."""
    if not sync_scope.follows_source(user):
        return None
    stored_choice = (user.resource.get(CONNECTOR_USER) or {}).get("syncToContact")
    return sync_scope.decide_scope(
        scope, {**resource, CONNECTOR_USER: {"syncToContact": stored_choice}}
    )


def users_of(session: Session, source: Source, batch: int) -> Iterator[list[User]]:
    """The source's users in batches (by id); none for the local source, whose users'
    switches are the admin's."""
    if source.kind == sources.LOCAL:
        return
    after = ""
    while True:
        found = list(
            session.scalars(
                select(User)
                .where(User.source_id == source.id, User.id > after)
                .order_by(User.id)
                .limit(batch)
            )
        )
        if not found:
            return
        yield found
        after = found[-1].id


def change_scope(session: Session, actor: str, name: str, scope: object, batch: int) -> Source:
    """Set a source's sync scope and decide every user that follows it again, in this
    transaction: users the new scope takes in gain their contact, those it leaves lose
    it (the link pauses). An admin's override and the IdP's attribute still win."""
    source = sources.set_sync_scope(session, actor, name, scope)
    for found in users_of(session, source, batch):
        rescope(session, actor, found)
    return source


def set_by_admin(session: Session, actor: str, user: User, choice: bool | None) -> None:
    """An admin's ``syncToContact``: true or false overrides the source's scope for this
    user from now on; None returns the user to "follow the source" and decides at once.

    A local user has no scope to follow: its switch is always the admin's.
    """
    source = sources.by_id(session, user.source_id)
    local = source is None or source.kind == sources.LOCAL
    if choice is None and local:
        raise InvalidInput(
            "a local user has no source scope to follow: set syncToContact to true or false",
            field="syncToContact",
        )
    if choice is not None and not isinstance(choice, bool):
        raise InvalidInput("'syncToContact' must be true, false or null", field="syncToContact")
    set_by = choice is not None and not local
    if set_by != user.sync_set_by_admin:
        audit.record(
            session,
            actor,
            "user.sync",
            "user",
            user.id,
            {"syncToContactSetBy": sync_scope.set_by(user, local=local)},
            {"syncToContactSetBy": "admin" if choice is not None else "source"},
        )
        user.sync_set_by_admin = set_by
    if choice is None:
        rescope(session, actor, [user])
    else:
        linking.set_sync(session, user, choice, users.load_state(session), actor)
