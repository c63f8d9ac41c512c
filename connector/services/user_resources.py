"""A user as a SCIM resource: what the SCIM endpoint returns, and what filters see.

Stored attributes plus the server's own (``id``, ``meta``) and the read-only
``groups``. A SCIM filter means the same wherever it is used: the SQL
translation (connector.queries.user_filter) and the evaluator applied to this
view agree, whether the filter lists users (SCIM, the admin API) or decides a
source's sync scope.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from connector.db.models import User
from connector.services import groups
from scim.schemas import USER


def resource(user: User, member_of: list[tuple[str, str]]) -> dict[str, Any]:
    """The user with its groups (id, displayName) as SCIM shows it.

    The connector extension appears only when the identity provider set it, so
    that a client echoing a user back (Okta's GET-then-PUT) does not turn the
    source's sync scope into a per-user override.
    """
    out: dict[str, Any] = {
        **user.resource,
        "id": user.id,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.isoformat().replace("+00:00", "Z"),
            "lastModified": user.updated_at.isoformat().replace("+00:00", "Z"),
            "version": f'W/"{user.version}"',
        },
    }
    out["schemas"] = list(out.get("schemas") or [USER.schema.id])
    if member_of:
        out["groups"] = [
            {"value": gid, "display": name, "type": "direct"} for gid, name in member_of
        ]
    return out


def resources(session: Session, found: list[User]) -> list[dict[str, Any]]:
    """Several users as SCIM resources, with one query for all their groups."""
    member_of = groups.groups_of(session, [u.id for u in found])
    return [resource(u, member_of[u.id]) for u in found]
