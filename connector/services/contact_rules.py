"""What a user's change does to its contact: one pure decision for every write path.

Why one function: the per-user sync, the bulk contact rows of a directory import
and the "Update all synchronized users" job each hold a user and (maybe) a link,
and they must agree on the contract's sync switch, direction and deactivation
rules. They differ only in how they write the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from connector.services.sync_settings import CONTACT_TO_USER, USER_TO_CONTACT, SyncSettings


class Action(Enum):
    LEAVE = "leave"  # the contact (if any) is not touched
    CREATE = "create"  # a new contact, linked to the user
    UPDATE = "update"  # the mapping re-applied to the linked contact
    DELETE = "delete"  # the linked contact and its link go


@dataclass(frozen=True)
class ContactDecision:
    action: Action
    active: bool = False  # the contact's active flag, for CREATE and UPDATE


LEAVE = ContactDecision(Action.LEAVE)
DELETE = ContactDecision(Action.DELETE)


def effective_direction(own: str | None, settings: SyncSettings, *, local: bool) -> str:
    """A local user's own direction, else the global one.

    A user of an identity provider or directory (``local`` false) is always the
    source of its contact: its source would overwrite a value flowing back from the
    contact at its next change (connector.services.ownership).
    """
    if not local:
        return USER_TO_CONTACT
    return own or settings.direction


def decide(
    *,
    sync_on: bool,
    user_active: bool,
    own_direction: str | None,
    local: bool,
    link_state: str | None,
    settings: SyncSettings,
) -> ContactDecision:
    """The contact's fate after its user changed or a sync was asked for.

    ``own_direction`` is the user's own (None: the global one applies); ``local``
    says whether the connector owns the user (see :func:`effective_direction`);
    ``link_state`` is None when the user has no link, else the link's state
    ("active" or "paused").
    """
    if not sync_on:
        return LEAVE
    if not user_active and settings.onDeactivate == "delete":
        return DELETE if link_state is not None else LEAVE
    active = user_active or settings.onDeactivate == "keep"
    if link_state is None:
        return ContactDecision(Action.CREATE, active)
    if (
        link_state != "active"
        or effective_direction(own_direction, settings, local=local) == CONTACT_TO_USER
    ):
        return LEAVE
    return ContactDecision(Action.UPDATE, active)
