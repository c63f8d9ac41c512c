"""What a user resource puts into the users table's length-limited columns.

Checked before every write of a user, whatever its way in (a validated write in
connector.services.users, a directory's batch or first import, a contact's
values flowing back in the reversed direction in connector.services.linking),
so that SQLite and PostgreSQL refuse the same users (see column_text).
"""

from __future__ import annotations

from typing import Any

from connector.db.models import User
from connector.errors import InvalidInput
from connector.services import column_text


def check(resource: dict[str, Any]) -> None:
    """InvalidInput naming the attribute whose value does not fit its column."""
    column_text.check(User.user_name, resource.get("userName"), "userName")
    column_text.check(User.user_name_ci, resource.get("userName"), "userName", lowered=True)
    column_text.check(User.external_id, resource.get("externalId"), "externalId")


def fits(resource: dict[str, Any]) -> bool:
    """Whether :func:`check` lets ``resource`` through."""
    try:
        check(resource)
    except InvalidInput:
        return False
    return True
