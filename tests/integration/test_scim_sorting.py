"""``sortBy`` (RFC 7644 §3.4.2.3): short and fully qualified names sort alike, on both databases.

Unknown attributes answer 400 ``invalidValue``; resources without a value sort
last ascending and first descending.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from connector.services import tokens
from connector.services.context import Context
from tests.integration.scim_client import ENTERPRISE, ScimClient

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
# Created in this order, which is neither ascending nor descending by any key below.
PEOPLE = [("mona", "Sales"), ("adam", None), ("zoe", "Legal"), ("Bert", "accounts")]


@pytest.fixture
def scim(app: Flask, ctx: Context) -> ScimClient:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    client = ScimClient(app.test_client(), secret)
    for name, department in PEOPLE:
        body: dict[str, Any] = {"schemas": [CORE_USER], "userName": name}
        if department:
            body["schemas"].append(ENTERPRISE)
            body[ENTERPRISE] = {"department": department}
        client.post("/Users", body)
    for name in ["beta", "Alpha", "gamma"]:
        group = {"schemas": [CORE_GROUP], "displayName": name}
        if name != "gamma":
            group["externalId"] = name
        client.post("/Groups", group)
    return client


def _names(scim: ScimClient, path: str, key: str, **params: Any) -> list[str]:
    return [r[key] for r in scim.get(path, **params)["Resources"]]


@pytest.mark.parametrize("sort_by", ["userName", f"{CORE_USER}:userName", "USERNAME"])
@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_user_name_sorts_alike_short_and_qualified(
    scim: ScimClient, sort_by: str, order: str
) -> None:
    expected = ["adam", "Bert", "mona", "zoe"]
    if order == "descending":
        expected.reverse()
    assert _names(scim, "/Users", "userName", sortBy=sort_by, sortOrder=order) == expected


def test_an_extension_attribute_sorts_with_missing_values_last(scim: ScimClient) -> None:
    sort_by = f"{ENTERPRISE}:department"
    ascending = _names(scim, "/Users", "userName", sortBy=sort_by)
    assert ascending == ["Bert", "zoe", "mona", "adam"]
    descending = _names(scim, "/Users", "userName", sortBy=sort_by, sortOrder="descending")
    assert descending == ["adam", "mona", "zoe", "Bert"]


@pytest.mark.parametrize("sort_by", ["displayName", f"{CORE_GROUP}:displayName"])
def test_group_display_name_sorts_alike_short_and_qualified(scim: ScimClient, sort_by: str) -> None:
    assert _names(scim, "/Groups", "displayName", sortBy=sort_by) == ["Alpha", "beta", "gamma"]
    descending = _names(scim, "/Groups", "displayName", sortBy=sort_by, sortOrder="descending")
    assert descending == ["gamma", "beta", "Alpha"]
    by_external_id = _names(scim, "/Groups", "displayName", sortBy="externalId")
    assert by_external_id == ["Alpha", "beta", "gamma"]  # caseExact: "A" < "b"; none last
    backwards = _names(scim, "/Groups", "displayName", sortBy="externalId", sortOrder="descending")
    assert backwards == ["gamma", "beta", "Alpha"]


@pytest.mark.parametrize(
    ("path", "sort_by"),
    [
        ("/Users", "nickname.nothing"),
        ("/Users", "noSuchAttribute"),
        ("/Users", f"{CORE_GROUP}:displayName"),
        ("/Users", "urn:example:unknown:2.0:User:userName"),
        ("/Users", "name"),
        ("/Users", 'emails[type eq "work"].value'),
        ("/Users", "a b"),
        ("/Groups", "members"),
        ("/Groups", f"{CORE_USER}:displayName"),
    ],
)
def test_an_unknown_sort_attribute_is_invalid_value(
    scim: ScimClient, path: str, sort_by: str
) -> None:
    answer = scim.get(path, expect=400, sortBy=sort_by)
    assert answer["scimType"] == "invalidValue", answer


def test_sort_by_in_a_search_request_and_at_the_root(scim: ScimClient) -> None:
    found = scim.post("/Users/.search", {"sortBy": f"{CORE_USER}:userName"}, expect=200)
    assert [r["userName"] for r in found["Resources"]] == ["adam", "Bert", "mona", "zoe"]
    assert scim.post("/Users/.search", {"sortBy": 7}, expect=400)["scimType"] == "invalidValue"
    # At the root, each resource type sorts by the attribute if it has one.
    both = scim.post("/.search", {"sortBy": "userName", "sortOrder": "descending"}, expect=200)
    users = [r["userName"] for r in both["Resources"] if "userName" in r]
    assert users == ["zoe", "mona", "Bert", "adam"]
    assert scim.post("/.search", {"sortBy": "nothing"}, expect=400)["scimType"] == "invalidValue"
