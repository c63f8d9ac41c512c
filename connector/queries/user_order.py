"""SCIM ``sortBy`` on users → an SQL ORDER BY (RFC 7644 §3.4.2.3).

The service resolves ``sortBy`` against the User schema (scim.paths.resolve_path),
so a short and a fully qualified name arrive here as the same attribute.
Attributes with a column sort by it (its index serves the page); the others
are read from the JSON document and sort in code point order, case-insensitively
unless the attribute is caseExact, alike on SQLite and PostgreSQL. Resources
without a value sort last in ascending order and first in descending order.
"""

from __future__ import annotations

from typing import Any

from connector.db.models import User
from connector.queries.json_sql import sort_text
from scim.paths import ResolvedPath

SORT_COLUMNS = {
    "userName": User.user_name_ci,  # folded in Python when stored
    "externalId": User.external_id,
    "id": User.id,
    "meta.created": User.created_at,
    "meta.lastModified": User.updated_at,
    "active": User.active,
}
NOT_NULL = {"userName", "id", "meta.created", "meta.lastModified", "active"}


def user_order(sort_by: ResolvedPath | None, descending: bool) -> list[Any]:
    """ORDER BY terms for ``sort_by`` (default userName), ties broken by id."""
    value = _sort_value(sort_by) if sort_by else User.user_name_ci
    term = value.desc() if descending else value.asc()
    if sort_by is not None and sort_by.name not in NOT_NULL:
        # Only where a value can be missing: NULLS FIRST/LAST keeps SQLite off the index.
        term = term.nulls_first() if descending else term.nulls_last()
    if value is User.user_name_ci or value is User.id:
        # Unique: no ties to break, and the index (source_id, user_name_ci) serves the order.
        return [term]
    return [term, User.id]


def _sort_value(sort_by: ResolvedPath) -> Any:
    column = SORT_COLUMNS.get(sort_by.name)
    if column is not None:
        return column
    # Stored users are in schema spelling: extensions under their URN, core at the top.
    node: Any = User.resource[sort_by.uri] if sort_by.uri else User.resource
    node = node[sort_by.attribute.name]
    if sort_by.attribute.multi_valued:
        node = node[0]
    if sort_by.sub is not None:
        node = node[sort_by.sub.name]
    leaf = sort_by.sub or sort_by.attribute
    return sort_text(node.as_string(), fold_case=not leaf.case_exact)
