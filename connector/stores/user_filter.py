"""SCIM filter trees → SQLAlchemy conditions on the users table.

Attributes that have their own indexed column are translated to SQL with bound
parameters. A filter that touches anything else is answered by streaming the
candidate rows through the in-memory evaluator (:func:`scim.filter.matches`),
which defines the semantics both paths must agree on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from connector.db.models import User
from scim.filter import And, AttrRef, Compare, Expr, Not, Or, Present, ValuePath


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string_condition(
    column: Any, op: str, value: Any, *, fold: bool
) -> ColumnElement[bool] | None:
    if not isinstance(value, str):
        if op == "eq" and value is None:
            return column.is_(None)
        return None
    if fold:
        value = value.lower()
    if op == "eq":
        return column == value
    if op == "ne":
        return or_(column != value, column.is_(None))
    if op == "co":
        return column.like(f"%{_like_escape(value)}%", escape="\\")
    if op == "sw":
        return column.like(f"{_like_escape(value)}%", escape="\\")
    if op == "ew":
        return column.like(f"%{_like_escape(value)}", escape="\\")
    return {
        "gt": column > value,
        "ge": column >= value,
        "lt": column < value,
        "le": column <= value,
    }.get(op)


def _compare(ref: AttrRef, op: str, value: Any) -> ColumnElement[bool] | None:
    name = ref.dotted().lower()
    if name == "username":
        return _string_condition(User.user_name_ci, op, value, fold=True)
    if name == "externalid":
        return _string_condition(User.external_id, op, value, fold=False)
    if name == "id":
        return _string_condition(User.id, op, value, fold=False)
    if name == "active" and isinstance(value, bool) and op in {"eq", "ne"}:
        return (User.active == value) if op == "eq" else (User.active != value)
    if name in {"meta.created", "meta.lastmodified"} and isinstance(value, str):
        column = User.created_at if name == "meta.created" else User.updated_at
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return {
            "eq": column == moment,
            "ne": column != moment,
            "gt": column > moment,
            "ge": column >= moment,
            "lt": column < moment,
            "le": column <= moment,
        }.get(op)
    return None


def to_sql(expr: Expr) -> ColumnElement[bool] | None:
    """The SQL condition for ``expr``, or None when it needs the evaluator."""
    if isinstance(expr, And | Or):
        left, right = to_sql(expr.left), to_sql(expr.right)
        if left is None or right is None:
            return None
        return and_(left, right) if isinstance(expr, And) else or_(left, right)
    if isinstance(expr, Not):
        inner = to_sql(expr.expr)
        return None if inner is None else not_(inner)
    if isinstance(expr, Present):
        name = expr.ref.dotted().lower()
        if name in {"username", "id", "active"}:
            return true()
        if name == "externalid":
            return and_(User.external_id.is_not(None), User.external_id != "")
        return None
    if isinstance(expr, Compare):
        return _compare(expr.ref, expr.op, expr.value)
    if isinstance(expr, ValuePath):
        return None
    return false()  # pragma: no cover
