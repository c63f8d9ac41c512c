"""What an admin may write: e-mail addresses are addresses, a contact or user is
never empty, and a local user is edited by every catalogued user field."""

from __future__ import annotations

import pytest

from connector.services import sources, tokens
from tests.integration.scim_client import ScimClient

WORK_EMAIL = 'emails[type eq "work"].value'
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.mark.parametrize("field", ["email", "email2"])
def test_a_contacts_email_must_be_an_address(api, field):
    refused = api.post(
        "/contacts", {"fields": {"lastName": "Doe", field: "not-an-email"}}, expect=400
    )
    assert (
        refused["field"] == field
        and "'not-an-email' is not an e-mail address" in (refused["message"])
    )
    assert api.get("/contacts")["total"] == 0
    created = api.post(
        "/contacts", {"fields": {"lastName": "Doe", field: "doe@example.com"}}, expect=201
    )
    path = f"/contacts/{created['id']}"
    for method in ("PATCH", "PUT"):
        answer = api.call(method, path, {"fields": {"lastName": "Doe", field: "doe@"}}, expect=400)
        assert answer["field"] == field
    assert api.contact(created["id"])["fields"][field] == "doe@example.com"


@pytest.mark.parametrize(
    "fields",
    [{}, {"notes": "met at a fair"}, {"firstName": "  "}, {"jobTitle": "CEO", "phone": "+1"}],
)
def test_an_empty_contact_cannot_be_created(api, fields):
    refused = api.post("/contacts", {"fields": fields}, expect=400)
    assert refused["field"] == "fields"
    assert "a contact needs at least one of" in refused["message"]
    for label in ("first name", "last name", "display name", "company", "email"):
        assert label in refused["message"]
    assert api.get("/contacts")["total"] == 0


@pytest.mark.parametrize("one", ["firstName", "lastName", "displayName", "company", "email"])
def test_one_name_a_company_or_an_email_is_enough(api, one):
    value = "someone@example.com" if one == "email" else "Someone"
    api.post("/contacts", {"fields": {one: value}}, expect=201)


def test_a_contact_cannot_be_emptied(api):
    created = api.post("/contacts", {"fields": {"lastName": "Doe", "notes": "x"}}, expect=201)
    api.put(f"/contacts/{created['id']}", {"fields": {"notes": "x"}}, expect=400)
    api.patch(f"/contacts/{created['id']}", {"fields": {"lastName": None}}, expect=400)
    assert api.contact(created["id"])["fields"]["lastName"] == "Doe"


def test_a_local_users_email_must_be_an_address(api):
    for body in (
        {"userName": "ada", "emails": [{"type": "work", "value": "not-an-email"}]},
        {"fields": {"userName": "ada", WORK_EMAIL: "not-an-email"}},
    ):
        refused = api.post("/users", body, expect=400)
        assert "'not-an-email' is not an e-mail address" in refused["message"]
    assert api.get("/users")["total"] == 0
    ada = api.create_user("ada", emails=[{"type": "work", "value": "ada@example.com"}])
    path = f"/users/{ada['id']}"
    api.patch(path, {"emails": [{"type": "home", "value": "ada at home"}]}, expect=400)
    api.patch(path, {"fields": {WORK_EMAIL: "ada@"}}, expect=400)
    assert api.get(path)["fields"][WORK_EMAIL] == "ada@example.com"


def test_an_identity_providers_addresses_are_stored_as_sent(app, ctx, api):
    """RFC 7643 asks for RFC 5321 addresses with a SHOULD; the IdP is the source, and
    refusing its user would stop its provisioning for a value no admin can fix here."""
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="okta", kind=tokens.SCIM, source_name="okta")
    )
    ctx.run(lambda s: sources.set_sync_scope(s, "test", "okta", True))
    scim = ScimClient(app.test_client(), secret)
    user = scim.post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "odd@okta.example",
            "emails": [{"type": "work", "value": "not-an-email"}],
        },
    )
    assert user["emails"][0]["value"] == "not-an-email"


def test_a_user_needs_a_user_name(api):
    for body in ({}, {"fields": {}}, {"fields": {"name.givenName": "Ada"}}, {"userName": ""}):
        refused = api.post("/users", body, expect=400)
        assert refused["field"] == "userName" and "needs a user name" in refused["message"]
    assert api.get("/users")["total"] == 0


def test_every_catalogued_user_field_is_written_and_read_by_its_path(api):
    catalogue = api.get("/fields")["user"]
    assert len(catalogue) == 28
    values = {}
    for number, field in enumerate(catalogue):
        kind = field["type"]
        values[field["id"]] = (
            f"person{number}@example.com" if kind == "email" else f"value {number}"
        )
    created = api.post("/users", {"fields": values, "syncToContact": True}, expect=201)
    assert created["fields"] == values
    assert created["userName"] == values["userName"]
    assert (
        created[ENTERPRISE]["manager"]["displayName"] == values[f"{ENTERPRISE}:manager.displayName"]
    )
    assert api.get(f"/users/{created['id']}")["fields"] == values
    # Emptying one field clears it; the others stay.
    changed = api.patch(
        f"/users/{created['id']}", {"fields": {"timezone": "", "title": None}}, expect=200
    )
    assert "timezone" not in changed["fields"] and "title" not in changed["fields"]
    assert changed["fields"]["locale"] == values["locale"]
    # The contact follows, as for any change of the user.
    contact = api.contact(created["contactId"])
    assert contact["fields"]["email"] == values[WORK_EMAIL]
    assert "jobTitle" not in contact["fields"]


def test_unknown_user_fields_are_refused_by_name(api):
    refused = api.post("/users", {"fields": {"userName": "a", "shoeSize": "9"}}, expect=400)
    assert refused["field"] == "shoeSize"
    refused = api.post("/users", {"fields": {"userName": "a", "title": 7}}, expect=400)
    assert refused["field"] == "title"
