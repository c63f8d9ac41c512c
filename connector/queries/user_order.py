"""SCIM ``sortBy`` on users → an SQL ORDER BY (RFC 7644 §3.4.2.3)."""

from __future__ import annotations

from typing import Any

from connector.db.models import User
from scim.errors import ScimError
from scim.schemas import USER

# Attributes with a column of their own; the others are read from the JSON document.
SORT_COLUMNS = {
    "username": User.user_name_ci,
    "externalid": User.external_id,
    "id": User.id,
    "meta.created": User.created_at,
    "meta.lastmodified": User.updated_at,
    "active": User.active,
}


def user_order(sort_by: str | None, descending: bool) -> list[Any]:
    """ORDER BY terms for ``sort_by`` (default userName), ties broken by id."""
    order = _sort_key(sort_by) if sort_by else User.user_name_ci
    return [order.desc() if descending else order.asc(), User.id]


def _sort_key(sort_by: str) -> Any:
    column = SORT_COLUMNS.get(sort_by.lower())
    if column is not None:
        return column
    uri, _, rest = (
        sort_by.rpartition(":") if sort_by.lower().startswith("urn:") else ("", "", sort_by)
    )
    attr, _, sub = rest.partition(".")
    found = USER.resolve(uri or None, attr, sub or None)
    if found is None:
        raise ScimError(f"cannot sort by unknown attribute {sort_by!r}", scim_type="invalidValue")
    parent = USER.resolve(uri or None, attr)
    node: Any = User.resource[uri] if uri else User.resource
    node = node[parent.name if parent else attr]
    if parent is not None and parent.multi_valued:
        node = node[0][found.name if sub else "value"]
    elif sub:
        node = node[found.name]
    return node.as_string()
