"""Hostile and odd input at every entry point: 4xx in the documented shape, nothing
stored, the same answer on SQLite and PostgreSQL (the rules: scim.input_limits,
connector.services.column_text)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from connector.services import sources, tokens
from scim.input_limits import MAX_FILTER_DEPTH, MAX_FILTER_TERMS, MAX_INDEX, MAX_SEARCH_TEXT
from tests.integration.scim_client import SCIM_JSON, ScimClient

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
HUGE = "18446744073709551616"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def scim(app, ctx) -> ScimClient:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    ctx.run(lambda s: sources.set_sync_scope(s, "test", "idp", True))
    return ScimClient(app.test_client(), secret)


def scim_error(body: Any, status: int, scim_type: str | None = None) -> str:
    """The detail of a SCIM Error body, after checking its shape."""
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], body
    assert body["status"] == str(status), body
    if scim_type is not None:
        assert body["scimType"] == scim_type, body
    return body["detail"]


def raw(scim: ScimClient, method: str, path: str, text: str) -> Any:
    response = scim.client.open(
        f"/scim/v2{path}",
        method=method,
        data=text,
        headers={"Authorization": f"Bearer {scim.token}", "Content-Type": SCIM_JSON},
    )
    assert response.headers["Content-Type"].startswith(SCIM_JSON)
    return response.status_code, response.get_json()


def user(name: str, **attrs: Any) -> dict[str, Any]:
    return {"schemas": [USER_URN], "userName": name, **attrs}


def no_users(scim: ScimClient) -> None:
    assert scim.get("/Users")["totalResults"] == 0


# ------------------------------------------------------------------ D1, D5: text


@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "a\u0000b"], ids=["d800", "dfff", "nul"])
def test_scim_create_with_unstorable_text_is_invalid_value_naming_it(scim, bad):
    detail = scim_error(
        scim.post("/Users", user("surr1", displayName=bad), expect=400), 400, "invalidValue"
    )
    assert "displayName" in detail
    nested = scim.post(
        "/Users", user("surr2", emails=[{"value": "a@example.org"}, {"value": bad}]), expect=400
    )
    assert "emails[1].value" in scim_error(nested, 400, "invalidValue")
    no_users(scim)
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": bad}, expect=400)
    scim_error(group, 400, "invalidValue")
    assert scim.get("/Groups")["totalResults"] == 0


def test_scim_put_and_patch_with_unstorable_text_change_nothing(scim):
    created = scim.post("/Users", user("kept", displayName="Kept"))
    path = f"/Users/{created['id']}"
    scim_error(scim.put(path, user("kept", displayName="x\ud800"), expect=400), 400, "invalidValue")
    patched = scim.patch(path, [{"op": "replace", "path": "nickName", "value": "n\u0000"}], 400)
    assert "Operations[0].value" in scim_error(patched, 400, "invalidValue")
    bad_path = scim.patch(path, [{"op": "replace", "path": "nick\ud800", "value": "n"}], 400)
    assert "Operations[0].path" in scim_error(bad_path, 400, "invalidValue")
    after = scim.get(path)
    assert (after["displayName"], after["meta"]["version"]) == ("Kept", created["meta"]["version"])
    assert "nickName" not in after


def test_scim_bulk_and_search_with_unstorable_text_are_refused(scim):
    bulk = {
        "schemas": [BULK_URN],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("b1")},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("b2\ud800")},
        ],
    }
    refused = scim.post("/Bulk", bulk, expect=400)
    assert "Operations[1].data.userName" in scim_error(refused, 400, "invalidValue")
    no_users(scim)
    search = {"schemas": [SEARCH_URN], "filter": 'userName eq "a\u0000"'}
    scim_error(scim.post("/Users/.search", search, expect=400), 400, "invalidValue")
    scim_error(scim.post("/.search", search, expect=400), 400, "invalidValue")


def test_scim_ids_and_query_values_with_nul_answer_as_on_sqlite(scim):
    assert scim_error(scim.get("/Users/\x00", expect=404), 404)
    assert scim_error(scim.get("/Groups/a\x00b", expect=404), 404)
    scim.call("DELETE", "/Users/\x00", expect=404)
    scim_error(scim.get("/Users", expect=400, filter='userName eq "\x00"'), 400, "invalidValue")
    escaped = scim.get("/Users", expect=400, filter='userName eq "\\u0000"')
    assert "string literal" in scim_error(escaped, 400, "invalidFilter")
    scim_error(scim.get("/Users", expect=400, sortBy="\x00"), 400, "invalidValue")


def test_admin_api_refuses_unstorable_text_naming_the_field(api):
    refused = api.post("/users", {"userName": "x", "displayName": "\udfff"}, expect=400)
    assert (refused["error"], refused["field"]) == ("invalid", "displayName")
    assert "lone surrogate" in refused["message"]
    local = api.create_user("local1", sync=True)
    patched = api.patch(f"/users/{local['id']}", {"nickName": "nick\ud800"}, expect=400)
    assert patched["field"] == "nickName"
    assert "nickName" not in api.get(f"/users/{local['id']}")
    assert api.post("/contacts", {"firstName": "a\u0000"}, expect=400)["field"] == "firstName"
    mapping = api.put("/mapping", {"rows": [{"user": "\ud800", "contact": "x"}]}, expect=400)
    assert mapping["field"] == "rows[0].user"
    assert api.patch("/settings", {"a\u0000": True}, expect=400)["field"] == "'a\\x00'"
    token = api.post("/tokens", {"kind": "admin", "name": "t\u0000"}, expect=400)
    assert token["field"] == "name"
    assert api.get("/users")["total"] == 1


def test_admin_api_ids_and_query_values_with_nul_answer_as_on_sqlite(api):
    for path in ("/users/\x00", "/contacts/\x00", "/jobs/\x00", "/sources/\x00/runs"):
        assert api.get(path, expect=404)["error"] == "not_found"
    assert api.delete("/users/\x00", expect=404)["error"] == "not_found"
    assert api.get(f"/tokens/{HUGE}", expect=405)  # no GET there, whatever the id
    api.delete(f"/tokens/{HUGE}", expect=404)
    api.post(f"/sources/corp/runs/{HUGE}/confirm", expect=404)
    assert api.get("/contacts", q="\x00", expect=400)["field"] == "q"
    assert api.get("/users", filter='userName eq "\x00"', expect=400)["field"] == "filter"
    assert api.get("/users", filter='userName eq "\\ud800"', expect=400)["field"] == "filter"
    assert api.get("/audit", actor="\x00", expect=400)["field"] == "actor"


def test_console_sign_in_with_a_name_no_account_can_have_is_400(app):
    client = app.test_client()
    page = client.get("/admin/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    for name in ("n" * 300, "a\x00b"):
        form = {"name": name, "password": "x", "csrf_token": csrf}
        response = client.post("/admin/sign-in", data=form)
        assert response.status_code == 400, response.get_data(as_text=True)
        assert "name" in response.get_data(as_text=True)


# ------------------------------------------------------------------ D2: deep JSON


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/Users"),
        ("POST", "/Groups"),
        ("PUT", "/Users/x"),
        ("PATCH", "/Users/x"),
        ("POST", "/Bulk"),
        ("POST", "/.search"),
        ("POST", "/Users/.search"),
    ],
)
def test_scim_deep_json_is_invalid_syntax(scim, method, path):
    status, body = raw(scim, method, path, DEEP)
    assert status == 400
    assert "deeper than 64" in scim_error(body, 400, "invalidSyntax")


def test_scim_json_that_no_database_takes_is_refused(scim):
    for text in ('{"userName": NaN}', '{"userName": 1e999}'):
        status, body = raw(scim, "POST", "/Users", text)
        assert status == 400
        scim_error(body, 400, "invalidSyntax")
    no_users(scim)


def test_admin_api_deep_json_is_400(api):
    response = api.client.post(
        "/api/v1/users", data=DEEP, headers=api.headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert "deeper than 64" in response.get_json()["message"]


# ------------------------------------------------------------------ D3: huge integers


@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_scim_huge_start_index_and_count_answer_an_empty_page(scim, kind):
    scim.post("/Users", user("one"))
    scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "g"})
    page = scim.get(f"/{kind}", startIndex=HUGE)
    assert (page["totalResults"], page["Resources"], page["startIndex"]) == (1, [], MAX_INDEX)
    assert len(scim.get(f"/{kind}", count=HUGE)["Resources"]) == 1
    assert scim.get(f"/{kind}", startIndex="-" + HUGE)["startIndex"] == 1
    body = {"schemas": [SEARCH_URN], "startIndex": int(HUGE), "count": int(HUGE)}
    assert scim.post(f"/{kind}/.search", body, expect=200)["Resources"] == []
    assert scim.post("/.search", body, expect=200)["Resources"] == []


@pytest.mark.parametrize("path", ["/users", "/contacts", "/audit"])
def test_admin_api_huge_start_index_and_count_answer_an_empty_page(api, path):
    api.create_user("one", sync=True)
    assert api.get(path, startIndex=HUGE)["items"] == []
    assert api.get(path, count=HUGE)["items"]
    assert api.get(path, startIndex="-" + HUGE, count="-" + HUGE)["items"] == []


# ------------------------------------------------------------------ D4: filters


def longest_filter(attr: str) -> str:
    """A filter at both limits at once: the deepest nesting and the most terms."""
    chain = " and ".join(f'{attr} ne "{i}"' for i in range(MAX_FILTER_TERMS - 1))
    opened = "not (" * (MAX_FILTER_DEPTH - 1)
    return f'{opened}({chain} or {attr} eq "x"){")" * (MAX_FILTER_DEPTH - 1)}'


def test_scim_filters_past_the_limits_are_invalid_filter(scim):
    deep = scim.get("/Users", expect=400, filter="(" * 1000 + 'userName eq "a"' + ")" * 1000)
    assert f"deeper than {MAX_FILTER_DEPTH}" in scim_error(deep, 400, "invalidFilter")
    long = scim.get("/Users", expect=400, filter=" or ".join(['userName eq "a"'] * 1001))
    assert f"more than {MAX_FILTER_TERMS}" in scim_error(long, 400, "invalidFilter")
    search = {"schemas": [SEARCH_URN], "filter": " or ".join(['displayName eq "a"'] * 1001)}
    scim_error(scim.post("/Groups/.search", search, expect=400), 400, "invalidFilter")


def test_scim_filters_at_the_limits_run_in_sql_and_in_memory(scim):
    scim.post("/Users", user("x", nickName="x"))
    scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "x"})
    for kind, attr in (("Users", "userName"), ("Users", "nickName"), ("Groups", "displayName")):
        assert scim.get(f"/{kind}", filter=longest_filter(attr))["totalResults"] == 0
    assert scim.get("/Users", filter=longest_filter("groups.display"))["totalResults"] == 0


def test_admin_api_filters_past_the_limits_are_400_on_filter(api):
    deep = api.get("/users", filter="(" * 1000 + 'userName eq "a"' + ")" * 1000, expect=400)
    assert deep["field"] == "filter" and f"deeper than {MAX_FILTER_DEPTH}" in deep["message"]
    long = api.get("/users", filter=" or ".join(['userName eq "a"'] * 1001), expect=400)
    assert long["field"] == "filter" and f"more than {MAX_FILTER_TERMS}" in long["message"]
    assert api.get("/users", filter=longest_filter("userName"))["items"] == []


# ------------------------------------------------------------------ D6: column lengths


def test_scim_values_longer_than_their_columns_are_invalid_value(scim):
    assert scim.post("/Users", user("u" * 255))["userName"] == "u" * 255
    long = scim.post("/Users", user("v" * 256), expect=400)
    assert "'userName' is 256 characters" in scim_error(long, 400, "invalidValue")
    external = scim.post("/Users", user("w", externalId="e" * 256), expect=400)
    assert "externalId" in scim_error(external, 400, "invalidValue")
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "g" * 256}, expect=400)
    assert "displayName" in scim_error(group, 400, "invalidValue")
    kept = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "g"})
    renamed = scim.patch(
        f"/Groups/{kept['id']}", [{"op": "replace", "path": "displayName", "value": "h" * 256}], 400
    )
    scim_error(renamed, 400, "invalidValue")
    assert scim.get(f"/Groups/{kept['id']}")["displayName"] == "g"
    assert scim.get("/Users")["totalResults"] == 1


def test_admin_api_values_longer_than_their_columns_are_400_naming_them(api):
    refused = api.post("/users", {"userName": "u" * 256}, expect=400)
    assert refused["field"] == "userName"
    source = api.post("/tokens", {"kind": "scim", "source": "s" * 101, "name": "t"}, expect=400)
    assert source["field"] == "source"
    assert api.get("/users")["total"] == 0


def test_search_texts_past_the_limit_are_refused_on_both_databases(scim, api):
    """SQLite refuses LIKE patterns over 50,000 bytes: both databases refuse alike."""
    too_long = json.dumps("x" * (MAX_SEARCH_TEXT + 1))
    for text in (f"displayName co {too_long}", f"emails[value sw {too_long}]"):
        refused = scim.get("/Users", expect=400, filter=text)
        assert f"at most {MAX_SEARCH_TEXT}" in scim_error(refused, 400, "invalidFilter")
        assert api.get("/users", filter=text, expect=400)["field"] == "filter"
    assert api.get("/contacts", q="x" * (MAX_SEARCH_TEXT + 1), expect=400)["field"] == "q"
    longest = json.dumps("\U0001f600" * MAX_SEARCH_TEXT)
    assert scim.get("/Users", filter=f"userName co {longest}")["totalResults"] == 0
    assert api.get("/contacts", q="%" * MAX_SEARCH_TEXT)["items"] == []


def test_a_user_name_that_grows_when_lower_cased_is_measured_as_stored(scim):
    """userName and displayName are also stored lower-cased; "İ".lower() is 2 characters."""
    refused = scim.post("/Users", user("\u0130" * 200), expect=400)
    assert "400 characters long once lower-cased" in scim_error(refused, 400, "invalidValue")
    group = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "\u0130" * 200}, 400)
    scim_error(group, 400, "invalidValue")
    assert scim.post("/Users", user("\u0130" * 127))["userName"] == "\u0130" * 127


def test_a_contact_edit_flowing_back_obeys_the_rules_of_user_writes(api):
    """Reversed direction: the contact's values become the user's, so a userName
    too long or taken refuses the contact edit, and nothing of it is stored."""
    user = api.create_user("rev", sync=True)
    api.create_user("taken")
    api.patch("/settings", {"direction": "contact_to_user"}, expect=200)
    contact_path = f"/contacts/{user['contactId']}"
    long = api.patch(contact_path, {"fields": {"username": "u" * 300}}, expect=400)
    assert long["field"] == "userName" and "300 characters" in long["message"]
    api.patch(contact_path, {"fields": {"username": "TAKEN"}}, expect=409)
    assert api.contact(user["contactId"])["fields"]["username"] == "rev"
    assert api.get(f"/users/{user['id']}")["userName"] == "rev"
    api.patch(contact_path, {"fields": {"username": "renamed"}}, expect=200)
    assert api.get(f"/users/{user['id']}")["userName"] == "renamed"
