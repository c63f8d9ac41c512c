"""The contact listing's sort orders as SQL: ORDER BY terms and the keyset condition.

Each order is a key column and the id as the tie-breaker, with an index on both
(migration 0014), so that "the rows after this one" is an index range however
deep in the list it starts. Text keys compare in code point order on both
databases (connector.queries.json_sql.sort_text), as their indexes are built.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, literal, tuple_

from connector.db.models import Contact
from connector.queries.json_sql import sort_text

NAME, EMAIL, UPDATED = "name", "email", "updated"
SORT_KEYS = (NAME, EMAIL, UPDATED)


def key_column(sort_by: str) -> Any:
    """The column (as compared and ordered) of a sort order."""
    if sort_by == NAME:
        return sort_text(Contact.search_text, fold_case=False)
    if sort_by == EMAIL:
        return sort_text(Contact.sort_email, fold_case=False)
    return Contact.updated_at


def key_value(contact: Contact, sort_by: str) -> Any:
    """A row's value of the sort key (what a cursor carries)."""
    if sort_by == NAME:
        return contact.search_text
    if sort_by == EMAIL:
        return contact.sort_email
    return contact.updated_at


def order_by(sort_by: str, descending: bool) -> list[Any]:
    key = key_column(sort_by)
    if descending:
        return [key.desc(), Contact.id.desc()]
    return [key.asc(), Contact.id.asc()]


def after(sort_by: str, descending: bool, key: Any, last_id: str) -> ColumnElement[bool]:
    """The rows that come after (key, last_id) in this order.

    A row-value comparison (an index range on both databases), with the key's own
    bound beside it so that a planner that does not read row values still starts
    the range at the key.
    """
    column = key_column(sort_by)
    pair, bound = tuple_(column, Contact.id), tuple_(literal(key, column.type), literal(last_id))
    if descending:
        return and_(column <= key, pair < bound)
    return and_(column >= key, pair > bound)
