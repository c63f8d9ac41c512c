"""The one rule for e-mail addresses an admin types."""

from __future__ import annotations

import pytest

from connector.services.email_address import problem

VALID = [
    "ada@example.com",
    "Ann.Young@example.com",
    "o'brien+tag@mail.example.org",
    "x_y-z@sub-domain.example.co.uk",
    "jürgen@bücher.de",
]
INVALID = [
    "not-an-email",
    "@example.com",
    "ada@",
    "ada@localhost",
    "a b@example.com",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@b@example.com",
    "a@-x.example",
    "a@x-.example",
    "a@x_y.example",
    "a@x..example",
    '"quoted"@example.com',
    "a@[192.0.2.1]",
    "x" * 65 + "@example.com",
    "a@" + "x" * 64 + ".com",
]


@pytest.mark.parametrize("value", VALID)
def test_addresses_people_type_are_accepted(value):
    assert problem(value) is None


@pytest.mark.parametrize("value", INVALID)
def test_what_is_not_an_address_is_refused_saying_why(value):
    message = problem(value)
    assert message is not None and repr(value) in message


def test_only_text_can_be_an_address():
    assert problem(42) == "an e-mail address must be text"
