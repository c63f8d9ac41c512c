"""The one decision every write path takes about a user's contact."""

from __future__ import annotations

import pytest

from connector.services.contact_rules import Action, ContactDecision, decide
from connector.services.sync_settings import CONTACT_TO_USER, USER_TO_CONTACT, SyncSettings

CREATE_ACTIVE = ContactDecision(Action.CREATE, True)
CREATE_INACTIVE = ContactDecision(Action.CREATE, False)
UPDATE_ACTIVE = ContactDecision(Action.UPDATE, True)
UPDATE_INACTIVE = ContactDecision(Action.UPDATE, False)
LEAVE = ContactDecision(Action.LEAVE)
DELETE = ContactDecision(Action.DELETE)


@pytest.mark.parametrize(
    ("sync_on", "active", "own", "link", "policy", "expected"),
    [
        # The switch off: nothing happens to the contact, whatever else holds.
        (False, True, None, None, "mark_inactive", LEAVE),
        (False, False, None, "active", "delete", LEAVE),
        # No link yet: a contact is made, its active flag after the policy.
        (True, True, None, None, "mark_inactive", CREATE_ACTIVE),
        (True, False, None, None, "mark_inactive", CREATE_INACTIVE),
        (True, False, None, None, "keep", CREATE_ACTIVE),
        (True, False, None, None, "delete", LEAVE),
        # A live link with the user as the source: the mapping is re-applied.
        (True, True, None, "active", "mark_inactive", UPDATE_ACTIVE),
        (True, False, None, "active", "mark_inactive", UPDATE_INACTIVE),
        (True, False, None, "active", "keep", UPDATE_ACTIVE),
        (True, True, USER_TO_CONTACT, "active", "delete", UPDATE_ACTIVE),
        # Deactivated under "delete": the linked contact goes, whichever the direction.
        (True, False, None, "active", "delete", DELETE),
        (True, False, CONTACT_TO_USER, "active", "delete", DELETE),
        # Reversed direction or a paused link: the contact is left alone.
        (True, True, CONTACT_TO_USER, "active", "mark_inactive", LEAVE),
        (True, True, None, "paused", "mark_inactive", LEAVE),
    ],
)
def test_decide(sync_on, active, own, link, policy, expected):
    settings = SyncSettings(onDeactivate=policy)
    decision = decide(
        sync_on=sync_on,
        user_active=active,
        own_direction=own,
        local=True,
        link_state=link,
        settings=settings,
    )
    assert decision == expected


def test_the_global_direction_applies_when_the_user_has_none():
    reversed_ = SyncSettings(direction=CONTACT_TO_USER)
    kwargs = {"sync_on": True, "user_active": True, "link_state": "active", "local": True}
    assert decide(own_direction=None, settings=reversed_, **kwargs) == LEAVE
    assert decide(own_direction=USER_TO_CONTACT, settings=reversed_, **kwargs) == UPDATE_ACTIVE


def test_reversal_never_makes_the_contact_the_source_of_a_user_of_a_source():
    """An identity provider or directory overwrites its users' values at its next
    change: their contacts follow the user whatever the direction says."""
    reversed_ = SyncSettings(direction=CONTACT_TO_USER)
    kwargs = {"sync_on": True, "user_active": True, "link_state": "active", "local": False}
    assert decide(own_direction=None, settings=reversed_, **kwargs) == UPDATE_ACTIVE
    assert decide(own_direction=CONTACT_TO_USER, settings=reversed_, **kwargs) == UPDATE_ACTIVE


@pytest.mark.parametrize(
    ("enabled", "link_state", "effect"),
    [
        (False, "active", "pause"),
        (False, "paused", "none"),
        (False, None, "none"),
        (True, "paused", "resume"),
        (True, "active", "sync"),
        (True, None, "sync"),
    ],
)
def test_what_turning_the_switch_does_to_the_link(
    enabled: bool, link_state: str | None, effect: str
) -> None:
    """One rule for set_sync and the scope preview."""
    from connector.services.linking import switch_effect

    assert switch_effect(enabled, link_state) == effect
