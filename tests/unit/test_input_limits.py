"""scim.input_limits: the text, JSON and integer rules every entry point applies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim.input_limits import (
    MAX_INDEX,
    MAX_JSON_DEPTH,
    MAX_SEARCH_TEXT,
    InputRefused,
    MalformedInput,
    NoSuchPath,
    UnstorableText,
    check_search_text,
    check_text,
    check_url,
    clamped_int,
    first_bad_text,
    json_depth_exceeds,
    load_json,
    text_problem,
)

STORABLE = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
UNSTORABLE = st.one_of(st.just("\x00"), st.characters(categories=("Cs",)))


@given(st.text(STORABLE))
def test_any_valid_text_passes(text: str) -> None:
    assert text_problem(text) is None
    assert check_text(text, "displayName") == text


@given(head=st.text(), bad=UNSTORABLE, tail=st.text())
def test_any_text_with_nul_or_a_lone_surrogate_is_refused(head: str, bad: str, tail: str) -> None:
    assert text_problem(head + bad + tail) is not None
    with pytest.raises(UnstorableText) as refused:
        check_text(head + bad + tail, "displayName")
    assert refused.value.field == "displayName"
    assert "displayName" in refused.value.message


def test_the_reason_names_the_character() -> None:
    assert text_problem("a\x00b") == "contains NUL (U+0000)"
    assert text_problem("x\udfff") == "contains a lone surrogate (U+DFFF)"


@settings(max_examples=200)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(STORABLE),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(STORABLE, max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_any_json_of_valid_text_loads_as_itself(value: Any) -> None:
    assert load_json(json.dumps(value)) == value
    assert load_json(json.dumps(value).encode()) == value


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"displayName": "\\ud800"}', "displayName"),
        ('{"name": {"givenName": "a\\u0000b"}}', "name.givenName"),
        ('{"emails": [{"value": "x"}, {"value": "\\udfff"}]}', "emails[1].value"),
        (
            '{"Operations": [{"op": "add", "path": "nick\\ud800", "value": 1}]}',
            "Operations[0].path",
        ),
        ('{"a\\u0000": 1}', "'a\\x00'"),
        ('"\\u0000"', "value"),
    ],
)
def test_a_body_with_unstorable_text_is_refused_naming_where(body: str, where: str) -> None:
    with pytest.raises(UnstorableText) as refused:
        load_json(body)
    assert refused.value.field == where
    assert first_bad_text(json.loads(body)) is not None
    # The message itself must be storable and sendable.
    assert text_problem(refused.value.message) is None


def test_deep_json_is_refused_without_recursing() -> None:
    with pytest.raises(MalformedInput, match=f"deeper than {MAX_JSON_DEPTH}"):
        load_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(MalformedInput, match="deeper"):
        load_json('{"a":' * 65 + "1" + "}" * 65)
    assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = json.dumps({"a": "[[[[" * 100 + '\\"{{{' * 50})
    assert not json_depth_exceeds(text)
    assert load_json(text)["a"].startswith("[[[[")


@pytest.mark.parametrize(
    "body", ["", "   ", "{not json", "[1,]", "NaN", '{"a": Infinity}', "[1e400]", b"\xff\xfe"]
)
def test_what_is_not_json_is_malformed(body: str | bytes) -> None:
    with pytest.raises(MalformedInput):
        load_json(body)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("18446744073709551616", MAX_INDEX),
        (18446744073709551616, MAX_INDEX),
        ("9" * 5000, MAX_INDEX),
        ("-18446744073709551616", 1),
        ("0", 1),
        ("  42 ", 42),
        ("+7", 7),
        (3.0, 3),
        (1e300, MAX_INDEX),
    ],
)
def test_integers_are_clamped(raw: Any, expected: int) -> None:
    assert clamped_int(raw, "startIndex", minimum=1) == expected


@pytest.mark.parametrize("raw", ["1.5", "ten", "", "0x10", True, None, [1], float("nan")])
def test_what_is_not_an_integer_is_refused_naming_it(raw: Any) -> None:
    with pytest.raises(InputRefused) as refused:
        clamped_int(raw, "count", minimum=0)
    assert refused.value.field == "count"


@given(st.integers())
def test_any_integer_lands_within_the_bounds(value: int) -> None:
    assert 0 <= clamped_int(str(value), "count", minimum=0) <= MAX_INDEX
    assert clamped_int(value, "count", minimum=0, maximum=500) == max(0, min(500, value))


def test_search_texts_are_bounded() -> None:
    assert check_search_text("x" * MAX_SEARCH_TEXT, "q") == "x" * MAX_SEARCH_TEXT
    with pytest.raises(InputRefused, match=f"at most {MAX_SEARCH_TEXT}") as refused:
        check_search_text("x" * (MAX_SEARCH_TEXT + 1), "q")
    assert refused.value.field == "q"
    with pytest.raises(UnstorableText):
        check_search_text("\x00", "q")


def test_a_url_is_read_under_the_rule_of_bodies() -> None:
    check_url(["Users", "01a2", 7], [("filter", 'userName eq "ok"'), ("count", "9")])
    for path_part in ("a\x00", "\ud800", MAX_INDEX + 1):
        with pytest.raises(NoSuchPath):
            check_url(["Users", path_part], [])
    with pytest.raises(UnstorableText) as bad_value:
        check_url([], [("q", "a\x00")])
    assert bad_value.value.field == "q"
    with pytest.raises(UnstorableText) as bad_name:
        check_url([], [("q\x00", "a")])
    assert bad_name.value.field == "'q\\x00'"
