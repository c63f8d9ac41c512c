"""The sync switch decided again when what a source's sync scope sees has changed.

A SCIM source's scope may be a filter on its users as the identity provider
sees them, groups included (see connector.services.sync_scope). So after a
user's attributes or its groups change, each affected user's switch is decided
again; a ``syncToContact`` the provider set on the user still wins.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from connector.db.models import User
from connector.services import linking, sources, sync_scope, user_resources, users
from scim.schemas import CONNECTOR_USER


def rescope(session: Session, actor: str, affected: Sequence[User]) -> None:
    """Turn each affected user's sync switch to what its source's scope now decides.

    ``affected`` users belong to one source.
    """
    if not affected:
        return
    source = sources.by_id(session, affected[0].source_id)
    assert source is not None  # users.source_id is a foreign key
    state = users.load_state(session)
    for user, resource in zip(
        affected, user_resources.resources(session, list(affected)), strict=True
    ):
        stored_choice = (user.resource.get(CONNECTOR_USER) or {}).get("syncToContact")
        decision = sync_scope.decide(
            source, {**resource, CONNECTOR_USER: {"syncToContact": stored_choice}}
        )
        if decision != user.sync_to_contact:
            linking.set_sync(
                session, user, decision, state, actor, why="decided by the source's sync scope"
            )
