"""``column_in(column, values)``: ``column IN (values)`` that stays one parameter on PostgreSQL.

Why: the directory import looks up a thousand keys per page. As ``IN (...)``
that is a thousand parameters, and psycopg rewrites such a long statement's
placeholders on every execution (it caches only short statements), which cost
more than the lookup itself. ``= ANY(array)`` is one parameter and the same
plan. Other databases get the plain ``IN``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Boolean


class ColumnIn(ColumnElement[bool]):
    type = Boolean()
    inherit_cache = False  # the values are part of the element: compile it each time
    _is_implicitly_boolean = True  # a condition as it is, not "(...) = 1" on SQLite

    def __init__(self, column: Any, values: Iterable[Any]) -> None:
        self.column = column
        self.values = list(values)


def column_in(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """One value is a plain ``column = ?``: a statement SQLAlchemy compiles once and
    caches (a ``ColumnIn`` is compiled on every execution, which costs a single SCIM
    create more than its lookup)."""
    values = list(values)
    if len(values) == 1:
        return column == values[0]  # type: ignore[no-any-return]
    return ColumnIn(column, values)


@compiles(ColumnIn)
def _in_list(element: ColumnIn, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.values), **kw)


@compiles(ColumnIn, "postgresql")
def _any_array(element: ColumnIn, compiler: Any, **kw: Any) -> str:
    values = bindparam(None, element.values, type_=ARRAY(element.column.type))
    return compiler.process(element.column == any_(values), **kw)
