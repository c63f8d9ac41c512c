"""SCIM filters on groups → SQL, for the lookups identity providers send.

``displayName eq "…"`` and ``externalId eq "…"`` (and ``id``) go to indexed
columns; any other filter returns None and is evaluated in memory (see
connector.queries.filtered_page).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from connector.db.models import Group
from scim.errors import ScimError
from scim.filter import Compare, Expr
from scim.paths import ResolvedPath
from scim.schemas import CORE_GROUP

COLUMNS = {"displayname": Group.display_name_ci, "externalid": Group.external_id, "id": Group.id}


def to_sql(expr: Expr | None) -> ColumnElement[bool] | None:
    if not (
        isinstance(expr, Compare)
        and expr.op == "eq"
        and isinstance(expr.value, str)
        and expr.ref.sub is None
        and expr.ref.uri in (None, CORE_GROUP)
    ):
        return None
    column = COLUMNS.get(expr.ref.attr.lower())
    if column is None:
        return None
    value = expr.value.lower() if column is Group.display_name_ci else expr.value
    return column == value


# What groups can be sorted by: the attributes with a column (RFC 7644 §3.4.2.3).
SORT_COLUMNS = {
    "displayName": Group.display_name_ci,  # folded in Python when stored
    "externalId": Group.external_id,
    "id": Group.id,
    "meta.created": Group.created_at,
    "meta.lastModified": Group.updated_at,
}


def group_order(sort_by: ResolvedPath | None, descending: bool) -> list[Any]:
    """ORDER BY terms for ``sort_by`` (default displayName, case-insensitive), ties broken by id.

    ``sort_by`` was resolved against the Group schema by the service, so
    ``displayName`` and its fully qualified name are the same key here.
    """
    if sort_by is None:
        return [Group.display_name_ci.desc() if descending else Group.display_name_ci, Group.id]
    column = SORT_COLUMNS.get(sort_by.name)
    if column is None:
        raise ScimError(f"groups cannot be sorted by {sort_by.name!r}", scim_type="invalidValue")
    term = column.desc() if descending else column.asc()
    if column is Group.external_id:  # the one that can be missing
        term = term.nulls_first() if descending else term.nulls_last()
    return [term, Group.id]
