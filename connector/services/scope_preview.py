"""What a change of a source's sync scope would do, without making it.

It walks the source's users as :func:`rescope.change_scope` does and asks the same
:func:`rescope.decided` for each (an admin's override and the IdP's extension
attribute win as they do there); for each user whose switch would turn, what its
contact would then do, by :func:`contact_rules.decide` as ``linking.set_sync``
does: gain one (created, or its paused link resumed) or lose it (the link pauses;
the contact stays, no longer synchronised). Read-only: run it in ``Context.read``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db.models import ContactLink, User
from connector.errors import NotFound
from connector.queries.column_in import column_in
from connector.services import contact_rules, linking, rescope, sources, sync_scope
from connector.services.contact_rules import Action
from connector.services.sync_settings import SyncSettings
from connector.services.sync_settings import load as load_settings

SAMPLES = 20


def _links(session: Session, found: list[User]) -> dict[str, tuple[str, str]]:
    """user id → (link state, contact id) for the users that have a link."""
    rows = session.execute(
        select(ContactLink.user_id, ContactLink.state, ContactLink.contact_id).where(
            column_in(ContactLink.user_id, [u.id for u in found])
        )
    )
    return {user_id: (state, contact_id) for user_id, state, contact_id in rows}


def contact_effect(
    user: User, on: bool, link_state: str | None, settings: SyncSettings, *, local: bool
) -> str:
    """What turning ``user``'s switch to ``on`` does to its contact: "create", "resume",
    "pause" or "none" (:func:`linking.switch_effect`, then the rules for a new
    contact); ``local``: the user is the connector's own (:mod:`.ownership`)."""
    effect = linking.switch_effect(on, link_state)
    if effect != "sync":
        return effect
    if link_state is not None:
        return "none"  # switched on with its contact already active
    decision = contact_rules.decide(
        sync_on=True,
        user_active=user.active,
        own_direction=user.sync_direction,
        local=local,
        link_state=None,
        settings=settings,
    )
    return "create" if decision.action is Action.CREATE else "none"


def preview(session: Session, name: str, scope: object, *, batch: int) -> dict[str, Any]:
    """Who would gain or lose a contact if ``name``'s scope became ``scope``; refuses
    what the change refuses (unknown source, a scope that is not true, false or a filter)."""
    source = sources.by_name(session, name)
    if source is None:
        raise NotFound(f"no source named {name!r}")
    value = sync_scope.validated_scope(scope)
    settings = load_settings(session)
    local = source.kind == sources.LOCAL
    counts = {"users": 0, "switchOn": 0, "switchOff": 0, "gain": 0, "lose": 0}
    counts |= {"setByAdmin": 0, "setByIdentityProvider": 0}
    samples: list[dict[str, Any]] = []
    for found in rescope.users_of(session, source, batch):
        links = _links(session, found)
        for user, resource in zip(found, rescope.views(session, value, found), strict=True):
            counts["users"] += 1
            on = rescope.decided(value, user, resource)
            if on is None:
                counts["setByAdmin"] += 1
                continue
            if sync_scope.idp_choice(user.resource) is not None:
                counts["setByIdentityProvider"] += 1
            if on == user.sync_to_contact:
                continue
            counts["switchOn" if on else "switchOff"] += 1
            link_state, contact_id = links.get(user.id, (None, None))
            effect = contact_effect(user, on, link_state, settings, local=local)
            if effect in ("create", "resume"):
                counts["gain"] += 1
            elif effect == "pause":
                counts["lose"] += 1
            if len(samples) < SAMPLES:
                samples.append(
                    {
                        "userId": user.id,
                        "userName": user.user_name,
                        "syncToContact": {"before": user.sync_to_contact, "after": on},
                        "contact": effect,
                        "contactId": contact_id,
                    }
                )
    return {
        "source": source.name,
        "syncScope": {"before": sync_scope.stored_scope(source.sync_scope), "after": value},
        **counts,
        "samples": samples,
    }
