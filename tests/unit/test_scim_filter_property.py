"""Property test: matches(parse(text)) agrees with a plain-Python oracle.

Filters come from a restricted grammar over a small User (userName, active,
name.givenName, emails[type, value]). Compound filters are fully parenthesised,
so the oracle does not depend on and/or precedence (covered by explicit tests).
String literals use characters that need JSON escaping (quote, backslash,
non-ASCII) but no digits, so no value is ever mistaken for a timestamp.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim.errors import InvalidFilter
from scim.filter import matches, parse

User = dict[str, Any]
Oracle = Callable[[User], bool]
Case = tuple[str, Oracle]

ALPHABET = 'abAB xé"\\@.É'
STRING_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
EMAIL_TYPES = ("work", "home", "other")

# A small shared pool makes user values and literals collide often (equal up to
# case, prefixes, suffixes), so that every operator is exercised both ways.
POOL = (
    "",
    "a",
    "A",
    "b",
    "ab",
    "AB",
    "aB",
    "ba",
    "abab",
    'a"',
    'A"b',
    "é",
    "É",
    "éa",
    "\\",
    "a\\b",
)
texts = st.one_of(st.sampled_from(POOL), st.text(alphabet=ALPHABET, max_size=5))
emails = st.fixed_dictionaries(
    {"type": st.sampled_from((*EMAIL_TYPES, "Work")), "value": texts},
)
users = st.fixed_dictionaries(
    {"userName": texts},
    optional={
        "active": st.booleans(),
        "name": st.fixed_dictionaries({}, optional={"givenName": texts}),
        "emails": st.lists(emails, max_size=3),
    },
)


def str_op(op: str, actual: str, expected: str) -> bool:
    a, e = actual.lower(), expected.lower()
    return {
        "eq": a == e,
        "ne": a != e,
        "co": e in a,
        "sw": a.startswith(e),
        "ew": a.endswith(e),
        "gt": a > e,
        "ge": a >= e,
        "lt": a < e,
        "le": a <= e,
    }[op]


def over_values(op: str, values: list[str], expected: str) -> bool:
    """SCIM semantics on a multi-valued attribute: some value matches; ne: none is equal."""
    if op == "ne":
        return not any(str_op("eq", v, expected) for v in values)
    return any(str_op(op, v, expected) for v in values)


def string_values(user: User, attr: str) -> list[str]:
    if attr == "userName":
        return [user["userName"]]
    if attr == "name.givenName":
        name = user.get("name", {})
        return [name["givenName"]] if "givenName" in name else []
    return [e["value"] for e in user.get("emails", [])]  # emails, emails.value


def literal(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)


@st.composite
def string_compare(draw: st.DrawFn) -> Case:
    attr = draw(st.sampled_from(["userName", "name.givenName", "emails.value", "emails"]))
    op = draw(st.sampled_from(STRING_OPS))
    value = draw(texts)
    text = f"{attr} {op} {literal(value, draw(st.booleans()))}"
    return text, lambda u: over_values(op, string_values(u, attr), value)


def _name_present(u: User) -> bool:
    return bool(u.get("name"))


PRESENT: dict[str, Oracle] = {
    "userName": lambda u: u["userName"] != "",
    "name.givenName": lambda u: u.get("name", {}).get("givenName", "") != "",
    "name": _name_present,
    "active": lambda u: "active" in u,
    "emails": lambda u: any(e["value"] != "" for e in u.get("emails", [])),
}


@st.composite
def present(draw: st.DrawFn) -> Case:
    attr = draw(st.sampled_from(sorted(PRESENT)))
    return f"{attr} pr", PRESENT[attr]


@st.composite
def boolean_compare(draw: st.DrawFn) -> Case:
    op = draw(st.sampled_from(["eq", "ne"]))
    value = draw(st.booleans())

    def oracle(u: User) -> bool:
        equal = "active" in u and u["active"] is value
        return equal if op == "eq" else not equal

    return f"active {op} {json.dumps(value)}", oracle


def _type_is(kind: str) -> Callable[[dict[str, str]], bool]:
    return lambda e: e["type"].lower() == kind.lower()


@st.composite
def value_filter(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from((*EMAIL_TYPES, "WORK")))
    type_lit = literal(kind, True)
    is_type = _type_is(kind)
    shape = draw(st.sampled_from(["type-only", "bracket-and", "dotted", "dotted-pr"]))
    if shape == "type-only":
        return f"emails[type eq {type_lit}]", lambda u: any(is_type(e) for e in u.get("emails", []))
    if shape == "dotted-pr":
        return f"emails[type eq {type_lit}].value pr", lambda u: any(
            is_type(e) and e["value"] != "" for e in u.get("emails", [])
        )
    op = draw(st.sampled_from(STRING_OPS))
    value = draw(texts)
    lit = literal(value, draw(st.booleans()))
    if shape == "bracket-and":
        text = f"emails[type eq {type_lit} and value {op} {lit}]"
    else:
        text = f"emails[type eq {type_lit}].value {op} {lit}"
    return text, lambda u: any(
        is_type(e) and str_op(op, e["value"], value) for e in u.get("emails", [])
    )


atoms = st.one_of(string_compare(), present(), boolean_compare(), value_filter())


def _and(a: Case, b: Case) -> Case:
    return f"({a[0]}) and ({b[0]})", lambda u: a[1](u) and b[1](u)


def _or(a: Case, b: Case) -> Case:
    return f"({a[0]}) or ({b[0]})", lambda u: a[1](u) or b[1](u)


def _not(a: Case) -> Case:
    return f"not ({a[0]})", lambda u: not a[1](u)


filters = st.recursive(
    atoms,
    lambda children: st.one_of(
        st.builds(_and, children, children),
        st.builds(_or, children, children),
        st.builds(_not, children),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(case=atoms, user=users)
def test_atom_matches_agree_with_oracle(case: Case, user: User) -> None:
    text, oracle = case
    assert matches(parse(text), user) is oracle(user), text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=filters, user=users)
def test_matches_agrees_with_oracle(case: Case, user: User) -> None:
    text, oracle = case
    assert matches(parse(text), user) is oracle(user), text


@settings(max_examples=50, deadline=None)
@given(case=filters, user=users)
def test_not_inverts(case: Case, user: User) -> None:
    text, _ = case
    assert matches(parse(f"not ({text})"), user) is not matches(parse(text), user)


STORABLE = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


@settings(max_examples=100, deadline=None)
@given(value=st.text(STORABLE, max_size=20))
def test_any_json_string_literal_round_trips(value: str) -> None:
    expr = parse(f"userName eq {json.dumps(value)}")
    assert expr.value == value  # type: ignore[union-attr]
    assert matches(expr, {"userName": value})


@settings(max_examples=100, deadline=None)
@given(
    head=st.text(STORABLE, max_size=5),
    bad=st.sampled_from(["\x00", "\ud800", "\udfff"]),
    tail=st.text(STORABLE, max_size=5),
)
def test_a_string_literal_no_database_can_store_is_an_invalid_filter(
    head: str, bad: str, tail: str
) -> None:
    with pytest.raises(InvalidFilter, match="string literal"):
        parse(f"userName eq {json.dumps(head + bad + tail)}")
