"""SCIM filter expressions (RFC 7644 §3.4.2.2) as a small typed tree.

Parsing is done by scim2-filter-parser's lexer and parser; its AST loses the
difference between ``"true"`` and ``true`` and only lexes one-digit numbers, so
the lexer is extended here and the AST is converted into the dataclasses below.
Stores translate this tree into their own query language; :func:`matches` is the
in-memory evaluator that serves as the reference semantics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_filter_parser import ast as sfp_ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError

from scim.errors import InvalidFilter

COMPARISON_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"

Value = str | int | float | bool | None


class _String(str):
    """A string literal from the filter text (as opposed to true/false/null)."""


class _Number(str):
    """A numeric literal from the filter text."""


class _Lexer(SCIMLexer):
    """scim2-filter-parser's lexer with JSON strings (escapes) and full JSON numbers."""

    tokens = SCIMLexer.tokens

    @_(r'"(?:[^"\\]|\\.)*"')  # type: ignore[name-defined]  # noqa: F821
    def COMP_VALUE(self, t):
        try:
            t.value = _String(json.loads(t.value))
        except json.JSONDecodeError as exc:
            raise InvalidFilter(f"bad string literal {t.value}") from exc
        return t

    @_(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")  # type: ignore[name-defined]  # noqa: F821
    def NUMBER(self, t):
        t.value = _Number(t.value)
        return t


@dataclass(frozen=True)
class AttrRef:
    """An attribute reference: optional schema URN, attribute, optional sub-attribute."""

    attr: str
    sub: str | None = None
    uri: str | None = None

    def dotted(self) -> str:
        base = f"{self.attr}.{self.sub}" if self.sub else self.attr
        return f"{self.uri}:{base}" if self.uri else base


@dataclass(frozen=True)
class Compare:
    ref: AttrRef
    op: str
    value: Value


@dataclass(frozen=True)
class Present:
    ref: AttrRef


@dataclass(frozen=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not:
    expr: Expr


@dataclass(frozen=True)
class ValuePath:
    """``attr[filter]``: some value of multi-valued ``attr`` matches ``filter``."""

    ref: AttrRef
    expr: Expr


Expr = Compare | Present | And | Or | Not | ValuePath


def parse(text: str) -> Expr:
    """Parse filter text, raising :class:`InvalidFilter` with the reason."""
    if not text or not text.strip():
        raise InvalidFilter("the filter is empty")
    try:
        tree = SCIMParser().parse(_Lexer().tokenize(text))
    except (SCIMParserError, ValueError) as exc:
        if isinstance(exc, InvalidFilter):
            raise
        raise InvalidFilter(f"cannot parse filter {text!r}: {exc}") from exc
    if tree is None:
        raise InvalidFilter(f"cannot parse filter {text!r}")
    return _convert(tree)


def _literal(raw: Any) -> Value:
    if isinstance(raw, _String):
        return str(raw)
    if isinstance(raw, _Number):
        number = float(raw)
        return int(number) if number.is_integer() and "." not in raw else number
    return {"true": True, "false": False, "null": None}[str(raw)]


def _ref(path: sfp_ast.AttrPath) -> AttrRef:
    sub = path.sub_attr.value if path.sub_attr is not None else None
    return AttrRef(attr=path.attr_name, sub=sub, uri=path.uri)


def _convert(node: Any) -> Expr:
    if isinstance(node, sfp_ast.Filter):
        if node.namespace is not None:
            inner = ValuePath(_ref(node.namespace), _convert(node.expr))
        else:
            inner = _convert(node.expr)
        return Not(inner) if node.negated else inner
    if isinstance(node, sfp_ast.LogExpr):
        left, right = _convert(node.expr1), _convert(node.expr2)
        return And(left, right) if node.op.lower() == "and" else Or(left, right)
    if isinstance(node, sfp_ast.AttrExpr):
        op = node.value.lower()
        path = node.attr_path
        if isinstance(path.attr_name, sfp_ast.Filter):
            # emails[type eq "work"].value eq "x": a value path with a comparison.
            value_filter = path.attr_name
            ns = value_filter.namespace
            inner_ref = AttrRef(attr=ns.sub_attr.value if ns.sub_attr else "value")
            target = (
                Present(inner_ref)
                if op == "pr"
                else Compare(inner_ref, op, _literal(node.comp_value.value))
            )
            outer = AttrRef(attr=ns.attr_name, uri=ns.uri)
            return ValuePath(outer, And(_convert(value_filter.expr), target))
        ref = _ref(path)
        if op == "pr":
            return Present(ref)
        if op not in COMPARISON_OPS:
            raise InvalidFilter(f"unknown operator {op!r}")
        return Compare(ref, op, _literal(node.comp_value.value))
    raise InvalidFilter(f"unsupported filter element {node!r}")


# ---------------------------------------------------------------- evaluator

CASE_EXACT_ATTRS = frozenset({"id", "externalId", "password", "$ref"})


def _lookup_attr(resource: dict[str, Any], ref: AttrRef) -> Any:
    container: Any = resource
    if ref.uri and ref.uri != CORE_USER_URN and ref.uri.lower() != CORE_USER_URN.lower():
        container = _get_ci(resource, ref.uri)
        if not isinstance(container, dict):
            return None
    return _get_ci(container, ref.attr)


def _get_ci(obj: Any, key: str) -> Any:
    """Attribute names are case-insensitive in SCIM (RFC 7643 §2.1)."""
    if not isinstance(obj, dict):
        return None
    if key in obj:
        return obj[key]
    lowered = key.lower()
    for k, v in obj.items():
        if k.lower() == lowered:
            return v
    return None


def values_at(resource: dict[str, Any], ref: AttrRef) -> list[Any]:
    """Every value the reference reaches, flattening multi-valued attributes."""
    top = _lookup_attr(resource, ref)
    items = top if isinstance(top, list) else [top]
    out: list[Any] = []
    for item in items:
        if ref.sub is None:
            if isinstance(item, dict) and "value" in item and ref.attr != "meta":
                out.append(item.get("value"))
            else:
                out.append(item)
        else:
            out.append(_get_ci(item, ref.sub))
    return [v for v in out if v is not None]


def _parse_datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _compare(actual: Any, op: str, expected: Value, case_exact: bool) -> bool:
    if op == "eq" and expected is None:
        return actual is None
    if isinstance(actual, bool) or isinstance(expected, bool):
        if isinstance(actual, str) and actual.lower() in {"true", "false"}:
            actual = actual.lower() == "true"
        if op == "eq":
            return actual == expected
        if op == "ne":
            return actual != expected
        return False
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        a: Any = actual
        e: Any = expected
    elif isinstance(actual, str) and isinstance(expected, str):
        a, e = actual, expected
        da, de = _parse_datetime(a), _parse_datetime(e)
        if (
            op in {"gt", "ge", "lt", "le"}
            and da is not None
            and de is not None
            and (da.tzinfo is not None) == (de.tzinfo is not None)
        ):
            a, e = da, de
        elif not case_exact:
            a, e = a.lower(), e.lower()
    else:
        return op == "ne"
    if op == "eq":
        return a == e
    if op == "ne":
        return a != e
    if op in {"co", "sw", "ew"}:
        if not isinstance(a, str):
            return False
        return {"co": e in a, "sw": a.startswith(e), "ew": a.endswith(e)}[op]
    try:
        return {"gt": a > e, "ge": a >= e, "lt": a < e, "le": a <= e}[op]
    except TypeError:
        return False


def _present(values: Iterable[Any]) -> bool:
    return any(v not in ("", [], {}) for v in values)


def matches(expr: Expr, resource: dict[str, Any]) -> bool:
    """Evaluate ``expr`` on a SCIM resource held as a dict."""
    if isinstance(expr, And):
        return matches(expr.left, resource) and matches(expr.right, resource)
    if isinstance(expr, Or):
        return matches(expr.left, resource) or matches(expr.right, resource)
    if isinstance(expr, Not):
        return not matches(expr.expr, resource)
    if isinstance(expr, Present):
        return _present(values_at(resource, expr.ref))
    if isinstance(expr, ValuePath):
        top = _lookup_attr(resource, expr.ref)
        items = top if isinstance(top, list) else ([top] if top is not None else [])
        return any(isinstance(i, dict) and matches(expr.expr, i) for i in items)
    case_exact = expr.ref.attr in CASE_EXACT_ATTRS or expr.ref.sub in CASE_EXACT_ATTRS
    values = values_at(resource, expr.ref)
    if expr.op == "ne":
        return not any(_compare(v, "eq", expr.value, case_exact) for v in values)
    if expr.op == "eq" and expr.value is None:
        return not values
    return any(_compare(v, expr.op, expr.value, case_exact) for v in values)
