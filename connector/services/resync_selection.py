"""Which linked contacts "Update all synchronized users" re-applies the mapping to.

Why one module: the resync job (:mod:`.jobs`) walks these links, and the mapping
page's count of contacts "built with an older mapping" (:mod:`.mappings`) counts
them; if the two disagreed, the count would never reach 0 after the job. The
rule is :func:`.contact_rules.decide`'s ``UPDATE`` (and ``DELETE``) cases as SQL:
the link is active (a paused link, whose user's sync is off, is left alone), the
user's sync is on, and the user is the data source (with the direction reversed
the contact is, and the mapping is not applied to it).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, func, or_

from connector.db.models import ContactLink, User
from connector.services.sync_settings import CONTACT_TO_USER


def link_is_live() -> ColumnElement[bool]:
    """The part of the rule on the link alone (a primary-key range can use it)."""
    return ContactLink.state == "active"


def user_is_source(
    global_direction: str, local_sources: Collection[int]
) -> tuple[ColumnElement[bool], ...]:
    """The part of the rule on the link's user (``User`` joined on ``ContactLink.user_id``).

    Only a local user's contact can be the data source (reversed direction); a user
    of an identity provider or directory always is (:mod:`.ownership`)."""
    reversed_here = func.coalesce(User.sync_direction, global_direction) == CONTACT_TO_USER
    if not local_sources:
        return (User.sync_to_contact.is_(True),)
    return (
        User.sync_to_contact.is_(True),
        or_(User.source_id.not_in(list(local_sources)), ~reversed_here),
    )


def conditions(
    global_direction: str, local_sources: Collection[int]
) -> tuple[ColumnElement[bool], ...]:
    """The whole rule, on ``ContactLink`` joined to its ``User``."""
    return (link_is_live(), *user_is_source(global_direction, local_sources))
