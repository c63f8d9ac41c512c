"""What every entry point accepts at all, before any rule of what the input means.

One place for the limits that keep hostile or odd input from reaching the
database or the Python stack: text (no NUL, which PostgreSQL cannot hold, and no
lone surrogate, which UTF-8 cannot encode: SQLite would store them and fail
later), JSON (bounded nesting, no NaN or Infinity), URLs (their ids and
parameters under the rule of text), and integer parameters (clamped to what
every database accepts). The SCIM service, the admin API and the LDAP entry
mapping all call these functions; this module imports nothing but the standard
library, so that both :mod:`scim` and :mod:`connector` can use it.

The limits of SCIM filters live here too and are checked by
:func:`scim.filter.parse`, the one parser of filter text. Column lengths are
not here: they come from the database models (connector.services.column_text).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

MAX_JSON_DEPTH = 64
"""Arrays and objects nested deeper than this are refused (SCIM resources need 4)."""

MAX_INDEX = 2**31 - 1
"""Integer parameters (``startIndex``, ``count``) are clamped to this: the largest
value every supported database takes as an integer (PostgreSQL's ``integer``)."""

MAX_FILTER_DEPTH = 32
"""Parentheses and value-path brackets of a filter nested deeper than this are refused."""

MAX_FILTER_TERMS = 200
"""A filter with more comparisons (``eq``, ``pr``, …) than this is refused."""

MAX_SEARCH_TEXT = 10_000
"""A filter's string literal, or a search text, longer than this (in characters) is
refused: SQLite refuses LIKE patterns over 50,000 bytes (4 bytes a character at
most, and the wildcards), and PostgreSQL would then answer otherwise."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DIGITS = re.compile(r"\s*([+-]?)0*([0-9]+)\s*")


class InputRefused(ValueError):
    """Input refused before it is interpreted; ``field`` names where, when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class MalformedInput(InputRefused):
    """The input cannot be read at all (not JSON, too deep): SCIM's ``invalidSyntax``."""


class UnstorableText(InputRefused):
    """A string no database can store (NUL, lone surrogate): SCIM's ``invalidValue``."""


# ---------------------------------------------------------------- text


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "contains NUL (U+0000)"
    if not text.isascii():
        found = _SURROGATE.search(text)
        if found is not None:
            return f"contains a lone surrogate (U+{ord(found.group()):04X})"
    return None


def check_text(text: str, field: str) -> str:
    """``text`` itself, or :class:`UnstorableText` naming ``field``."""
    problem = text_problem(text)
    if problem is not None:
        raise UnstorableText(unstorable_message(field, problem), field)
    return text


def unstorable_message(field: str, problem: str) -> str:
    return f"{field!r} {problem}: text must be Unicode without NUL or lone surrogates"


def first_bad_text(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string in a JSON value (keys included) that cannot be stored, as
    (where, why): where is a path such as ``emails[0].value``; None when all can."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (path or "value", problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            prefix = f"{path}." if path else ""
            problem = text_problem(str(key))
            if problem:  # the path shows the name escaped: a message cannot hold it
                return (prefix + ascii(str(key)), f"(a name) {problem}")
            found = first_bad_text(item, prefix + str(key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = first_bad_text(item, f"{path}[{index}]")
            if found:
                return found
    return None


def check_json_text(value: Any) -> Any:
    """``value`` itself, or :class:`UnstorableText` naming the first bad string."""
    found = first_bad_text(value)
    if found is not None:
        where, problem = found
        raise UnstorableText(unstorable_message(where, problem), where)
    return value


def check_search_text(text: str, field: str) -> str:
    """``text`` itself, or :class:`InputRefused` naming ``field`` when it is longer
    than :data:`MAX_SEARCH_TEXT` or cannot be stored."""
    check_text(text, field)
    if len(text) > MAX_SEARCH_TEXT:
        raise InputRefused(
            f"{field!r} is {len(text)} characters long; at most {MAX_SEARCH_TEXT} are allowed",
            field,
        )
    return text


class NoSuchPath(InputRefused):
    """A URL path part that no resource can have: answered as not found (404)."""


def check_url(route_values: Iterable[Any], params: Iterable[tuple[str, str]]) -> None:
    """The URL's own text under the rule of bodies: a path part holding NUL or a
    lone surrogate, or an integer one past :data:`MAX_INDEX`, is :class:`NoSuchPath`;
    such a query parameter (name or value) is :class:`UnstorableText` naming it."""
    for value in route_values:
        if (isinstance(value, str) and text_problem(value) is not None) or (
            isinstance(value, int) and value > MAX_INDEX
        ):
            raise NoSuchPath(f"nothing can exist at {value!a}")
    for name, value in params:
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            shown = name if text_problem(name) is None else ascii(name)
            raise UnstorableText(unstorable_message(shown, problem), shown)


# ---------------------------------------------------------------- JSON


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (strings ignored),
    found without parsing, so that no parser recurses that deep."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise MalformedInput(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise MalformedInput(f"the number {text[:40]} is too large")
    return number


def load_json(text: str | bytes) -> Any:
    """A request body read as JSON under the limits above.

    Raises :class:`MalformedInput` for an empty body, a body that is not JSON, one
    nested deeper than :data:`MAX_JSON_DEPTH`, or NaN/Infinity; and
    :class:`UnstorableText` for a string (key or value) holding NUL or a lone
    surrogate, naming where it is.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedInput("the body is not UTF-8") from exc
    if not text.strip():
        raise MalformedInput("the request has no body")
    if json_depth_exceeds(text):
        raise MalformedInput(f"the body nests arrays and objects deeper than {MAX_JSON_DEPTH}")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except InputRefused:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedInput(f"the body is not valid JSON: {exc}") from exc
    return check_json_text(value)


# ---------------------------------------------------------------- integers


def clamped_int(raw: Any, name: str, *, minimum: int, maximum: int = MAX_INDEX) -> int:
    """An integer parameter given as text or a JSON number, clamped to
    [``minimum``, ``maximum``]; anything else is :class:`InputRefused` naming ``name``.

    Clamping (rather than refusing) a huge ``startIndex`` answers what it asks:
    a page past the end, which is empty.
    """
    value: int
    if isinstance(raw, bool):
        raise InputRefused(f"{name} must be an integer", name)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise InputRefused(f"{name} must be an integer", name)
        value = int(raw)
    elif isinstance(raw, str):
        digits = _DIGITS.fullmatch(raw)
        if digits is None:
            raise InputRefused(f"{name} must be an integer", name)
        sign, number = digits.groups()
        # Past 18 digits the value is beyond any maximum: no need to convert it.
        value = int(number) if len(number) <= 18 else MAX_INDEX + 1
        value = -value if sign == "-" else value
    else:
        raise InputRefused(f"{name} must be an integer", name)
    return max(minimum, min(maximum, value))
