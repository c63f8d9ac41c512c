"""Reversed direction makes the contact the source only for local users.

The contact of a user an identity provider (or a directory) owns stays read-only
whatever the direction: its source would overwrite a change at its next update.
"""

from __future__ import annotations

import pytest

from connector.services import sources, tokens
from tests.integration.scim_client import ScimClient

OKTA_USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "dana@okta.example",
    "name": {"givenName": "Dana", "familyName": "Scully"},
    "emails": [{"type": "work", "value": "dana@okta.example", "primary": True}],
}


@pytest.fixture
def okta(app, ctx):
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="okta", kind=tokens.SCIM, source_name="okta")
    )
    ctx.run(lambda s: sources.set_sync_scope(s, "test", "okta", True))
    return ScimClient(app.test_client(), secret)


@pytest.mark.parametrize("reversal", ["global", "per_user_attempt"])
def test_the_contact_of_an_idp_user_stays_read_only_when_reversed(api, okta, reversal):
    created = okta.post("/Users", OKTA_USER)
    user = api.get(f"/users/{created['id']}")
    contact_id = user["contactId"]
    if reversal == "global":
        api.patch("/settings", {"direction": "contact_to_user"}, expect=200)
    else:
        refused = api.patch(
            f"/users/{user['id']}", {"syncDirection": "contact_to_user"}, expect=409
        )
        assert refused["field"] == "syncDirection"
        assert (
            "is managed by source 'okta'; change it at the identity provider"
            in (refused["message"])
        )
    before = api.contact(contact_id)
    assert before["managedBy"]["direction"] == "user_to_contact"
    assert before["managedBy"]["readOnly"] is True
    assert before["managedBy"]["source"] == "okta"
    assert (
        "is managed by source 'okta'; change it at the identity provider"
        in (before["managedBy"]["reason"])
    )
    for method, body in (
        ("PATCH", {"fields": {"firstName": "Eve"}}),
        ("PUT", {"fields": {"firstName": "Eve"}}),
        ("DELETE", None),
    ):
        answer = api.call(method, f"/contacts/{contact_id}", body, expect=409)
        assert answer["error"] == "managed_contact"
        assert (
            "is managed by source 'okta'; change it at the identity provider" in (answer["message"])
        )
    assert api.contact(contact_id) == before
    assert api.get(f"/users/{user['id']}")["name"]["givenName"] == "Dana"
    # The admin API refuses the same change of the user, for the same reason.
    same = api.patch(f"/users/{user['id']}", {"name": {"givenName": "Eve"}}, expect=409)
    assert "is managed by source 'okta'; change it at the identity provider" in same["message"]
    # The identity provider's changes still reach the contact (the user stays its source).
    okta.put(f"/Users/{created['id']}", {**OKTA_USER, "name": {"givenName": "Fox"}})
    assert api.contact(contact_id)["fields"]["firstName"] == "Fox"


def test_reversal_still_makes_a_local_users_contact_the_source(api, okta):
    okta.post("/Users", OKTA_USER)
    local = api.create_user("ann@example.com", sync=True, name={"givenName": "Ann"})
    api.patch("/settings", {"direction": "contact_to_user"}, expect=200)
    contact = api.contact(local["contactId"])
    assert contact["managedBy"]["readOnly"] is False
    assert contact["managedBy"]["reason"] is None
    assert contact["managedBy"]["direction"] == "contact_to_user"
    api.patch(f"/contacts/{local['contactId']}", {"fields": {"firstName": "Anna"}}, expect=200)
    assert api.get(f"/users/{local['id']}")["name"]["givenName"] == "Anna"


def test_the_resync_job_keeps_an_idp_users_contact_following_the_user(api, okta):
    created = okta.post("/Users", OKTA_USER)
    contact_id = api.get(f"/users/{created['id']}")["contactId"]
    api.patch("/settings", {"direction": "contact_to_user"}, expect=200)
    mapping = api.get("/mapping")
    rows = [r for r in mapping["rows"] if r["contactField"] != "firstName"]
    api.put("/mapping", {"rows": rows, "version": mapping["version"]}, expect=200)
    job = api.post("/contacts/resync", expect=202)
    assert api.wait_for_job(job["id"])["state"] == "done"
    assert "firstName" not in api.contact(contact_id)["fields"]
