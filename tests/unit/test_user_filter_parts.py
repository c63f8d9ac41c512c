"""Pieces of the SQL translation of SCIM filters that need no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import CompileError

from connector.db.models import User
from connector.queries.user_emails import VALUE_CI_LENGTH, email_keys
from connector.queries.user_filter import _prefix_upper_bound, to_sql
from scim.filter import parse

# Strings around the awkward spots: the last code point and the surrogate gap.
texts = st.text(
    alphabet=st.sampled_from(["a", "b", "\ud7ff", "\ue000", "\U0010ffff", "é", "\x7f"]),
    max_size=4,
)


@given(texts, texts)
def test_prefix_range_is_exactly_startswith(prefix: str, value: str) -> None:
    upper = _prefix_upper_bound(prefix)
    in_range = prefix <= value and (upper is None or value < upper)
    assert in_range == value.startswith(prefix)


def test_email_keys() -> None:
    resource = {
        "emails": [
            {"value": "Ann@Example.COM", "type": "work"},
            {"value": "ann@example.com"},
            {"type": "home"},
            {"value": "É" * (VALUE_CI_LENGTH + 5)},
        ]
    }
    assert email_keys(resource) == ["ann@example.com", "é" * VALUE_CI_LENGTH]
    assert email_keys({"userName": "x"}) == []


def test_other_dialects_are_refused() -> None:
    condition = to_sql(parse('name.givenName eq "x"'))
    with pytest.raises(CompileError):
        select(User.id).where(condition).compile(dialect=mysql.dialect())
