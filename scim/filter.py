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
from scim.input_limits import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_TERMS,
    InputRefused,
    check_search_text,
)

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

    # Literals only as whole words, so that attributes such as "nullable" lex as names.
    FALSE = r"false(?![A-Za-z0-9_$-])"
    TRUE = r"true(?![A-Za-z0-9_$-])"
    NULL = r"null(?![A-Za-z0-9_$-])"

    @_(r'"(?:[^"\\]|\\.)*"')  # type: ignore[name-defined]  # noqa: F821
    def COMP_VALUE(self, t):
        try:
            t.value = _String(json.loads(t.value))
        except json.JSONDecodeError as exc:
            raise InvalidFilter(f"bad string literal {t.value!r}") from exc
        try:
            check_search_text(t.value, "a string literal of the filter")
        except InputRefused as exc:
            raise InvalidFilter(exc.message) from exc
        return t

    def error(self, t):
        raise _SyntaxError(t.index, t.value[0], [])

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


# How a parse error names what the parser would have accepted instead.
_EXPECTED = {
    "ATTRNAME": "an attribute name",
    "SCHEMA_URI": "an attribute name",
    "SUBATTR": "a sub-attribute",
    "COMP_VALUE": "a value",
    "NUMBER": "a value",
    "TRUE": "a value",
    "FALSE": "a value",
    "NULL": "a value",
    "LPAREN": "'('",
    "RPAREN": "')'",
    "LBRACKET": "'['",
    "RBRACKET": "']'",
    "NOT": "'not'",
    "AND": "'and'",
    "OR": "'or'",
    "PR": "an operator",
    **{op.upper(): "an operator" for op in COMPARISON_OPS},
    "$end": "the end of the filter",
}


class _SyntaxError(Exception):
    """Where the parser stopped (a character offset) and what it would have accepted."""

    def __init__(self, position: int | None, found: str | None, expected: list[str]) -> None:
        super().__init__(found)
        self.position, self.found, self.expected = position, found, expected


def _parser() -> SCIMParser:
    """scim2-filter-parser's parser that says where it stopped and what it expected
    (sly builds a grammar for every subclass, so the error hook is set per instance)."""
    parser = SCIMParser()

    def error(token: Any) -> None:
        accepted = parser._lrtable.lr_action[parser.state]
        expected = list(dict.fromkeys(_EXPECTED.get(t, t) for t in accepted))
        if token is None:
            raise _SyntaxError(None, None, expected)
        raise _SyntaxError(token.index, str(token.value), expected)

    parser.error = error  # type: ignore[method-assign]
    return parser


def _syntax_message(text: str, error: _SyntaxError) -> str:
    if error.position is None:
        where = "at the end of the filter"
    else:
        rest = text[error.position :]
        near = rest if len(rest) <= 20 else rest[:20] + "…"
        where = f"at character {error.position + 1} ({near!r})"
    if not error.expected:
        wanted = f": unexpected character {error.found!r}"
    elif len(error.expected) == 1:
        wanted = f": expected {error.expected[0]}"
    else:
        wanted = f": expected {', '.join(error.expected[:-1])} or {error.expected[-1]}"
    return f"filter {text!r} breaks {where}{wanted}"


def parse(text: str) -> Expr:
    """Parse filter text, raising :class:`InvalidFilter` with the reason: where the
    filter broke (a 1-based character position, or its end) and what was expected."""
    if not text or not text.strip():
        raise InvalidFilter("the filter is empty")
    try:
        tokens = _bounded(_Lexer().tokenize(text))
        tree = _parser().parse(iter(tokens))
    except _SyntaxError as exc:
        raise InvalidFilter(_syntax_message(text, exc)) from exc
    except (SCIMParserError, ValueError) as exc:
        if isinstance(exc, InvalidFilter):
            raise
        raise InvalidFilter(f"cannot parse filter {text!r}: {exc}") from exc
    if tree is None:
        raise InvalidFilter(f"cannot parse filter {text!r}")
    return _convert(tree)


_OPENING = frozenset({"LPAREN", "LBRACKET"})
_CLOSING = frozenset({"RPAREN", "RBRACKET"})
_TERMS = frozenset(op.upper() for op in COMPARISON_OPS) | {"PR"}


def _bounded(tokens: Iterable[Any]) -> list[Any]:
    """The tokens of a filter within the limits of :mod:`scim.input_limits`, counted
    before parsing: the tree, its SQL and its evaluation recurse once per level."""
    kept, depth, terms = [], 0, 0
    for token in tokens:
        if token.type in _OPENING:
            depth += 1
            if depth > MAX_FILTER_DEPTH:
                raise InvalidFilter(
                    f"the filter nests parentheses or brackets deeper than {MAX_FILTER_DEPTH}"
                )
        elif token.type in _CLOSING:
            depth -= 1
        elif token.type in _TERMS:
            terms += 1
            if terms > MAX_FILTER_TERMS:
                raise InvalidFilter(f"the filter has more than {MAX_FILTER_TERMS} comparisons")
        kept.append(token)
    return kept


def _literal(raw: Any) -> Value:
    if isinstance(raw, _String):
        return str(raw)
    if isinstance(raw, _Number):
        if "." in raw:
            return float(raw)
        if "e" in raw or "E" in raw:
            number = float(raw)
            return int(number) if number.is_integer() else number
        return int(raw)
    return {"true": True, "false": False, "null": None}[str(raw)]


def _ref(path: sfp_ast.AttrPath) -> AttrRef:
    sub = path.sub_attr.value if path.sub_attr is not None else None
    return AttrRef(attr=path.attr_name, sub=sub, uri=path.uri)


def _ungrouped_chain(node: Any) -> bool:
    return (
        isinstance(node, sfp_ast.Filter)
        and not node.negated
        and node.namespace is None
        and isinstance(node.expr, sfp_ast.LogExpr)
    )


def _flatten(node: sfp_ast.LogExpr, operands: list[Any], ops: list[str]) -> None:
    """The operands and operators of an unparenthesised chain, in source order."""
    for side, child in enumerate((node.expr1, node.expr2)):
        if side == 1:
            ops.append(node.op.lower())
        if _ungrouped_chain(child):
            _flatten(child.expr, operands, ops)
        else:
            operands.append(child)


def _regroup(node: sfp_ast.LogExpr) -> Expr:
    """Rebuild a chain so that "and" binds tighter than "or" (RFC 7644 §3.4.2.2).

    scim2-filter-parser gives both the same precedence, which reads
    ``a or b and c`` as ``(a or b) and c``.
    """
    operands: list[Any] = []
    ops: list[str] = []
    _flatten(node, operands, ops)
    groups: list[Expr] = [_convert(operands[0])]
    for op, operand in zip(ops, operands[1:], strict=True):
        if op == "and":
            groups[-1] = And(groups[-1], _convert(operand))
        else:
            groups.append(_convert(operand))
    result = groups[0]
    for group in groups[1:]:
        result = Or(result, group)
    return result


def _convert(node: Any) -> Expr:
    if isinstance(node, sfp_ast.Filter):
        inner: Expr
        if node.namespace is not None:
            inner = ValuePath(_ref(node.namespace), _convert(node.expr))
        else:
            inner = _convert(node.expr)
        return Not(inner) if node.negated else inner
    if isinstance(node, sfp_ast.LogExpr):
        return _regroup(node)
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

CASE_EXACT_ATTRS = frozenset({"id", "externalid", "password", "$ref"})


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


def parse_datetime(value: str) -> datetime | None:
    """The instant an ISO 8601 string names (``Z`` or an offset, or naive), else None.

    The evaluator compares two strings as instants when both parse here; a
    translation of filters into another language (SQL) calls the same function
    so that both agree on which literals are date-times.
    """
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _compare(actual: Any, op: str, expected: Value, case_exact: bool) -> bool:
    if op == "eq" and expected is None:
        return actual is None
    if (
        isinstance(actual, str)
        and isinstance(expected, bool)
        and actual.lower()
        in {
            "true",
            "false",
        }
    ):
        actual = actual.lower() == "true"  # some clients store booleans as strings
    if isinstance(actual, bool) or isinstance(expected, bool):
        # Booleans equal only booleans (in Python True == 1).
        if not (isinstance(actual, bool) and isinstance(expected, bool)):
            return False
        return actual == expected if op == "eq" else False
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        a: Any = actual
        e: Any = expected
    elif isinstance(actual, str) and isinstance(expected, str):
        a, e = actual, expected
        da, de = parse_datetime(a), parse_datetime(e)
        if da is not None and de is not None and (da.tzinfo is None) == (de.tzinfo is None):
            a, e = da, de  # instants compare as instants, whatever their offsets
        elif not case_exact:
            a, e = a.lower(), e.lower()
    else:
        return False
    if op == "eq":
        return a == e
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
    case_exact = expr.ref.attr.lower() in CASE_EXACT_ATTRS or (
        expr.ref.sub is not None and expr.ref.sub.lower() in CASE_EXACT_ATTRS
    )
    values = values_at(resource, expr.ref)
    if expr.op == "ne" and expr.value is not None:
        return not any(_compare(v, "eq", expr.value, case_exact) for v in values)
    if expr.value is None and expr.op in {"eq", "ne"}:
        return not values if expr.op == "eq" else bool(values)
    return any(_compare(v, expr.op, expr.value, case_exact) for v in values)
