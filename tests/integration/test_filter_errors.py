"""A filter with a typo: the 400 says where the filter broke and what was expected,
in SCIM (scimType invalidFilter) and in the admin API's listings alike."""

from __future__ import annotations

from typing import Any

import pytest

from connector.services import sources, tokens
from tests.integration.scim_client import ScimClient

CASES = [
    ("userName eq", "breaks at the end of the filter: expected a value"),
    ('userName zz "a"', "breaks at character 10 ('zz \"a\"'): expected '[', an operator"),
    ('(userName eq "a"', "breaks at the end of the filter: expected ')', 'and' or 'or'"),
    ("userName eq @", "breaks at character 13 ('@'): unexpected character '@'"),
]


@pytest.fixture
def scim(app: Any, ctx: Any) -> ScimClient:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    ctx.run(lambda s: sources.set_sync_scope(s, "test", "idp", True))
    return ScimClient(app.test_client(), secret)


@pytest.mark.parametrize(("text", "said"), CASES)
def test_scim_filter_typo_says_where_and_what_was_expected(scim, text, said):
    body = scim.get("/Users", expect=400, filter=text)
    assert body["scimType"] == "invalidFilter"
    assert said in body["detail"], body["detail"]
    assert "None" not in body["detail"]


@pytest.mark.parametrize(("text", "said"), CASES)
def test_admin_api_filter_typo_says_where_and_what_was_expected(api, text, said):
    body = api.get("/users", expect=400, filter=text)
    assert said in body["message"], body
    assert body["field"] == "filter"
