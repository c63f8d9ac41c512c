"""The global synchronisation settings (direction, delete toggles, deactivation)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from connector.db.models import Setting
from connector.errors import InvalidInput
from connector.services import audit

SETTINGS_KEY = "sync"
USER_TO_CONTACT = "user_to_contact"  # the user is the data source (the default)
CONTACT_TO_USER = "contact_to_user"  # reversed: the contact is
DIRECTIONS = (USER_TO_CONTACT, CONTACT_TO_USER)
DEACTIVATION_POLICIES = ("keep", "mark_inactive", "delete")


@dataclass(frozen=True)
class SyncSettings:
    direction: str = USER_TO_CONTACT
    deleteContactWithUser: bool = False
    deleteUserWithContact: bool = False
    onDeactivate: str = "mark_inactive"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# Built once: every write that touches a contact reads the settings.
_VALUE = select(Setting.value).where(Setting.key == bindparam("key"))


def load(session: Session) -> SyncSettings:
    value = session.scalar(_VALUE, {"key": SETTINGS_KEY})
    if value is None:
        return SyncSettings()
    known = SyncSettings.__dataclass_fields__
    return SyncSettings(**{k: v for k, v in value.items() if k in known})


def _validated_patch(current: SyncSettings, patch: Any) -> SyncSettings:
    if not isinstance(patch, dict):
        raise InvalidInput("settings must be a JSON object")
    for key, value in patch.items():
        if key not in SyncSettings.__dataclass_fields__:
            raise InvalidInput(f"unknown setting {key!r}", field=key)
        if key == "direction" and value not in DIRECTIONS:
            raise InvalidInput(f"'direction' must be one of {', '.join(DIRECTIONS)}", field=key)
        if key == "onDeactivate" and value not in DEACTIVATION_POLICIES:
            raise InvalidInput(
                f"'onDeactivate' must be one of {', '.join(DEACTIVATION_POLICIES)}", field=key
            )
        if key.startswith("delete") and not isinstance(value, bool):
            raise InvalidInput(f"{key!r} must be true or false", field=key)
    return replace(current, **patch)


def update(session: Session, actor: str, patch: Any) -> SyncSettings:
    current = load(session)
    new = _validated_patch(current, patch)
    row = session.get(Setting, SETTINGS_KEY)
    if row is None:
        session.add(Setting(key=SETTINGS_KEY, value=new.to_json()))
    else:
        row.value = new.to_json()
    audit.record(
        session,
        actor,
        "settings.update",
        "settings",
        SETTINGS_KEY,
        current.to_json(),
        new.to_json(),
    )
    return new
