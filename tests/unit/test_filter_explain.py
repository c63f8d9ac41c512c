"""Which parts of a SCIM filter decided its answer, as filter text."""

from __future__ import annotations

import pytest

from scim.filter import matches, parse
from scim.filter_explain import deciding_parts, text


@pytest.mark.parametrize(
    "source",
    [
        'title eq "Guide"',
        "active eq true",
        "emails pr",
        'not (title eq "x")',
        'emails[type eq "work" and value ew "@x.org"]',
        'title eq "A" or (title eq "B" and active eq false)',
        '(title eq "A" or title eq "B") and userName sw "a"',
        "meta.version eq null",
        "x gt 3",
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Ops"',
    ],
)
def test_the_text_of_a_filter_parses_back_to_the_same_tree(source):
    assert parse(text(parse(source))) == parse(source)


USER = {"userName": "ann", "title": "Analyst", "active": True, "emails": [{"value": "a@x.org"}]}


@pytest.mark.parametrize(
    ("source", "matched", "parts"),
    [
        ('title eq "Analyst" and active eq true', True, ['title eq "Analyst"', "active eq true"]),
        ('title eq "Guide" and active eq true', False, ['title eq "Guide"']),
        ('title eq "Analyst" and active eq false', False, ["active eq false"]),
        ('title eq "Guide" or emails pr', True, ["emails pr"]),
        ('title eq "Guide" or userName eq "bob"', False, ['title eq "Guide"', 'userName eq "bob"']),
        ('not (title eq "Guide")', True, ['not (title eq "Guide")']),
    ],
)
def test_the_parts_that_decided(source, matched, parts):
    assert deciding_parts(parse(source), USER) == (matched, parts)
    assert matches(parse(source), USER) is matched
