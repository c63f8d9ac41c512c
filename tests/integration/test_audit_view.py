"""What the audit log shows a person: changes as rows of fields, objects by name,
the action filter by a part of the name."""

from __future__ import annotations

from typing import Any

FIVE_FIELDS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.com",
    "jobTitle": "Analyst",
    "notes": "first programmer",
}


def _only(api: Any, **filters: Any) -> dict[str, Any]:
    page = api.get("/audit", **filters)
    assert page["total"] == 1, page
    return page["items"][0]


def test_a_created_contact_counts_its_fields_not_the_keys_of_its_payload(api):
    contact = api.post("/contacts", {"fields": FIVE_FIELDS}, expect=201)
    event = _only(api, action="contact.create")
    assert {row["field"] for row in event["changes"]} == set(FIVE_FIELDS)
    assert all(row["before"] is None for row in event["changes"])
    assert {r["field"]: r["after"] for r in event["changes"]} == FIVE_FIELDS
    assert event["objectName"] == "Ada Lovelace"
    assert event["objectId"] == contact["id"]


def test_an_update_lists_only_the_fields_that_changed_with_nested_paths(api):
    user = api.create_user(
        "ada@example.com",
        sync=True,
        displayName="Ada L.",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        emails=[{"type": "work", "value": "ada@example.com"}],
    )
    api.patch(
        f"/users/{user['id']}",
        {"name": {"givenName": "Augusta"}, "emails": [{"type": "work", "value": "a@x.org"}]},
        expect=200,
    )
    event = _only(api, action="user.update")
    assert sorted(event["changes"], key=lambda r: r["field"]) == [
        {"field": 'emails[type eq "work"].value', "before": "ada@example.com", "after": "a@x.org"},
        {"field": "name.givenName", "before": "Ada", "after": "Augusta"},
    ]
    assert event["objectName"] == "Ada L. (ada@example.com)"
    # The contact's update names its fields, not the "fields" object that holds them.
    contact = _only(api, action="contact.update")
    assert {r["field"] for r in contact["changes"]} == {"firstName", "email"}
    created = _only(api, action="user.create")
    assert "name.familyName" in {r["field"] for r in created["changes"]}
    assert not {"id", "meta", "schemas", "name"} & {r["field"] for r in created["changes"]}


def test_objects_are_named_also_after_they_are_deleted(api):
    user = api.create_user("gone@example.com")
    api.delete(f"/users/{user['id']}", expect=204)
    names = {e["action"]: e["objectName"] for e in api.get("/audit", objectType="user")["items"]}
    assert names == {"user.create": "gone@example.com", "user.delete": "gone@example.com"}
    token = api.post("/tokens", {"name": "ci-robot", "kind": "admin"}, expect=201)
    api.delete(f"/tokens/{token['id']}", expect=204)
    for event in api.get("/audit", objectType="token", action="token.")["items"]:
        if event["objectId"] == str(token["id"]):
            assert event["objectName"] == "ci-robot"


def test_the_action_filter_matches_a_part_of_the_action(api):
    user = api.create_user("ada@example.com")
    api.patch(f"/users/{user['id']}", {"title": "Analyst"}, expect=200)
    found = api.get("/audit", action="user.upd")["items"]
    assert [e["action"] for e in found] == ["user.update"]
    assert api.get("/audit", action="USER.UPD")["total"] == 1
    assert {e["action"] for e in api.get("/audit", action="user.")["items"]} == {
        "user.create",
        "user.update",
    }
    assert api.get("/audit", action="%")["total"] == 0  # a wildcard of SQL is a character here
