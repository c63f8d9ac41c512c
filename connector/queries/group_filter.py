"""SCIM filters on groups → SQL, for the lookups identity providers send.

``displayName eq "…"`` and ``externalId eq "…"`` (and ``id``) go to indexed
columns; any other filter returns None and is evaluated in memory (see
connector.queries.filtered_page).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from connector.db.models import Group
from scim.filter import Compare, Expr
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


def group_order(descending: bool) -> list[Any]:
    """Groups are listed by displayName (case-insensitive), ties broken by id."""
    return [Group.display_name_ci.desc() if descending else Group.display_name_ci, Group.id]
