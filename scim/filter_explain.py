"""Which parts of a SCIM filter decided its answer for one resource, as filter text.

Why: an admin asking why a user is (not) in a source's sync scope wants the part
that matched ("groups.display eq \"Staff\"") rather than the whole filter. The
answer follows :func:`scim.filter.matches`, which stays the only evaluator.
"""

from __future__ import annotations

import json
from typing import Any

from scim.filter import And, AttrRef, Compare, Expr, Not, Or, Present, ValuePath, matches


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def _ref(ref: AttrRef) -> str:
    return ref.dotted()


def text(expr: Expr) -> str:
    """The filter text of ``expr`` (fully parenthesised where operators nest)."""
    if isinstance(expr, Compare):
        return f"{_ref(expr.ref)} {expr.op} {_value(expr.value)}"
    if isinstance(expr, Present):
        return f"{_ref(expr.ref)} pr"
    if isinstance(expr, Not):
        return f"not ({text(expr.expr)})"
    if isinstance(expr, ValuePath):
        return f"{_ref(expr.ref)}[{text(expr.expr)}]"
    op = "and" if isinstance(expr, And) else "or"
    return f"{_part(expr.left, expr)} {op} {_part(expr.right, expr)}"


def _part(child: Expr, parent: Expr) -> str:
    if isinstance(child, And | Or) and type(child) is not type(parent):
        return f"({text(child)})"
    return text(child)


def deciding_parts(expr: Expr, resource: dict[str, Any]) -> tuple[bool, list[str]]:
    """Whether ``expr`` matches ``resource`` and the smallest parts that decided it:
    for a match, every part an ``and`` needed and the first ``or`` branch that held;
    for no match, the first ``and`` part that failed and every ``or`` branch."""
    if isinstance(expr, And):
        left, left_parts = deciding_parts(expr.left, resource)
        if not left:
            return False, left_parts
        right, right_parts = deciding_parts(expr.right, resource)
        return (True, left_parts + right_parts) if right else (False, right_parts)
    if isinstance(expr, Or):
        left, left_parts = deciding_parts(expr.left, resource)
        if left:
            return True, left_parts
        right, right_parts = deciding_parts(expr.right, resource)
        return (True, right_parts) if right else (False, left_parts + right_parts)
    return matches(expr, resource), [text(expr)]
