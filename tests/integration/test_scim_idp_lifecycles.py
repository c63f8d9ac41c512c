"""Microsoft Entra ID and Okta provisioning runs, with the request shapes their
documentation shows; after each step the linked contact must have followed.
"""

from __future__ import annotations

import pytest

from connector.services import sources, tokens
from tests.integration.scim_client import ENTERPRISE, ScimClient, in_threads


@pytest.fixture
def scim_for(app, ctx, api):
    """A SCIM client for a source whose users are all synchronised to contacts."""

    def make(source_name: str, scope: object = True) -> ScimClient:
        _, secret = ctx.run(
            lambda s: tokens.create(
                s, "test", name=source_name, kind=tokens.SCIM, source_name=source_name
            )
        )
        ctx.run(lambda s: sources.set_sync_scope(s, "test", source_name, scope))
        return ScimClient(app.test_client(), secret)

    return make


def _contact_of(api, user_id):
    user = api.get(f"/users/{user_id}")
    assert user["contactId"], user
    return api.get(f"/contacts/{user['contactId']}")


ENTRA_USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
    "active": True,
    "emails": [
        {
            "primary": True,
            "type": "work",
            "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com",
        }
    ],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    },
    "roles": [],
}


def test_entra_user_lifecycle(scim_for, api):
    scim = scim_for("entra")
    # "Test connection": a filter on a random GUID answers 200 with an empty list.
    empty = scim.get("/Users", filter='userName eq "b9f3d9c5-1f1e-4a3c-9c25-4c64a1b2c3d4"')
    assert empty["totalResults"] == 0 and empty["Resources"] == []
    created = scim.post("/Users", ENTRA_USER)
    assert created["id"] and created["userName"] == ENTRA_USER["userName"]
    assert created["meta"]["resourceType"] == "User"
    assert scim.last.headers["Location"].endswith(f"/scim/v2/Users/{created['id']}")
    user_id = created["id"]
    contact = _contact_of(api, user_id)
    assert contact["fields"]["lastName"] == "familyName"
    assert contact["fields"]["email"].startswith("Test_User_fd0ea19b")

    found = scim.get("/Users", filter=f'userName eq "{ENTRA_USER["userName"]}"')
    assert [r["id"] for r in found["Resources"]] == [user_id]
    by_external = scim.get("/Users", filter=f'externalId eq "{ENTRA_USER["externalId"]}"')
    assert by_external["totalResults"] == 1

    # Without the aadOptscim062020 flag: capitalised ops, one path per attribute.
    scim.patch(
        f"/Users/{user_id}",
        [
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "E-123"},
        ],
    )
    contact = _contact_of(api, user_id)
    assert contact["fields"]["email"] == "updatedEmail@microsoft.com"
    assert contact["fields"]["lastName"] == "updatedFamilyName"
    assert contact["fields"]["employeeNumber"] == "E-123"

    manager = scim.post(
        "/Users", {**ENTRA_USER, "userName": "boss@contoso.com", "externalId": "boss"}
    )
    scim.patch(
        f"/Users/{user_id}",
        [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager["id"]}],
    )
    assert scim.get(f"/Users/{user_id}")[ENTERPRISE]["manager"]["value"] == manager["id"]

    # Deactivation arrives as the string "False"; the user is still returned by GET.
    scim.patch(f"/Users/{user_id}", [{"op": "Replace", "path": "active", "value": "False"}])
    assert scim.get(f"/Users/{user_id}")["active"] is False
    assert _contact_of(api, user_id)["active"] is False

    # With the flag: one path-less replace with dotted and URN keys.
    scim.patch(
        f"/Users/{user_id}",
        [
            {
                "op": "replace",
                "value": {
                    "active": True,
                    "name.givenName": "Updated",
                    f"{ENTERPRISE}:department": "Sales",
                },
            }
        ],
    )
    contact = _contact_of(api, user_id)
    assert (contact["active"], contact["fields"]["firstName"], contact["fields"]["department"]) == (
        True,
        "Updated",
        "Sales",
    )

    contact_id = contact["id"]
    scim.delete(f"/Users/{user_id}")
    scim.get(f"/Users/{user_id}", expect=404)
    # Default: the contact stays, unlinked.
    assert api.get(f"/contacts/{contact_id}")["managedBy"] is None


def test_entra_group_lifecycle_and_scope_by_group(scim_for, api):
    scim = scim_for("entra", 'groups.display eq "Staff"')
    user = scim.post("/Users", ENTRA_USER)
    assert api.get(f"/users/{user['id']}")["syncToContact"] is False
    group = scim.post(
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Staff",
            "meta": {"resourceType": "Group"},
        },
    )
    assert group["members"] == []
    looked_up = scim.get("/Groups", excludedAttributes="members", filter='displayName eq "Staff"')
    assert [g["id"] for g in looked_up["Resources"]] == [group["id"]]
    assert "members" not in looked_up["Resources"][0]
    # Entra's member PATCH asks for no attributes: 204 No Content (as Entra expects).
    scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}],
        expect=204,
    )
    assert api.get(f"/users/{user['id']}")["syncToContact"] is True
    assert _contact_of(api, user["id"])["fields"]["lastName"] == "familyName"
    assert scim.get(f"/Users/{user['id']}")["groups"][0]["display"] == "Staff"
    # A filter on the read-only groups attribute (answered by the evaluator).
    staff = scim.get("/Users", filter='groups.display eq "Staff"')
    assert [r["id"] for r in staff["Resources"]] == [user["id"]]
    assert scim.get("/Users", filter='groups.display eq "Other"')["totalResults"] == 0
    scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}],
        expect=204,
    )
    assert api.get(f"/users/{user['id']}")["syncToContact"] is False
    scim.delete(f"/Groups/{group['id']}")


OKTA_USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


def test_okta_user_lifecycle(scim_for, api, ctx):
    scim = scim_for("okta")
    missing = scim.get(
        "/Users", filter='userName eq "test.user@okta.local"', startIndex=1, count=100
    )
    assert missing == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }
    created = scim.post("/Users", OKTA_USER)
    assert "password" not in created
    user_id = created["id"]
    assert _contact_of(api, user_id)["fields"]["displayName"] == "Test User"
    # The password is not stored anywhere.
    from sqlalchemy import select

    from connector.db.models import User

    stored = ctx.run(lambda s: s.scalars(select(User.resource)).all())
    assert "1mz050nq" not in str(stored)
    scim.post("/Users", OKTA_USER, expect=409)
    assert scim.last.get_json(force=True)["scimType"] == "uniqueness"

    # Profile update: GET, then a full PUT.
    current = scim.get(f"/Users/{user_id}")
    current["name"]["familyName"] = "Renamed"
    current["title"] = "Analyst"
    replaced = scim.put(f"/Users/{user_id}", current)
    assert replaced["name"]["familyName"] == "Renamed"
    contact = _contact_of(api, user_id)
    assert (contact["fields"]["lastName"], contact["fields"]["jobTitle"]) == ("Renamed", "Analyst")
    # PUT is a full replace: an attribute left out is gone.
    del current["title"]
    scim.put(f"/Users/{user_id}", current)
    assert "jobTitle" not in _contact_of(api, user_id)["fields"]

    # Deactivation: path-less replace.
    scim.patch(f"/Users/{user_id}", [{"op": "replace", "value": {"active": False}}])
    assert _contact_of(api, user_id)["active"] is False
    scim.patch(f"/Users/{user_id}", [{"op": "replace", "value": {"active": True}}])
    assert _contact_of(api, user_id)["active"] is True


def test_sources_are_isolated(scim_for):
    entra, okta = scim_for("entra"), scim_for("okta")
    user = entra.post("/Users", ENTRA_USER)
    okta.get(f"/Users/{user['id']}", expect=404)
    okta.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}], expect=404)
    okta.delete(f"/Users/{user['id']}", expect=404)
    assert okta.get("/Users")["totalResults"] == 0
    assert entra.get(f"/Users/{user['id']}")["active"] is True


def test_auth_errors_and_discovery(app, scim_for):
    scim_for("entra")
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = client.get("/scim/v2/Users", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.content_type.startswith("application/scim+json")
        body = response.get_json(force=True)
        assert body["status"] == "401"
    config = client.get("/scim/v2/ServiceProviderConfig").get_json(force=True)
    assert config["patch"]["supported"] is True
    assert config["filter"]["maxResults"] >= 100
    assert config["bulk"]["maxOperations"] > 0


def test_etags_and_preconditions(scim_for):
    scim = scim_for("entra")
    user = scim.post("/Users", ENTRA_USER)
    etag = scim.last.headers["ETag"]
    assert etag == user["meta"]["version"]
    scim.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "path": "title", "value": "A"}],
        headers={"If-Match": etag},
    )
    stale = scim.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "path": "title", "value": "B"}],
        expect=412,
        headers={"If-Match": etag},
    )
    assert stale["status"] == "412"
    assert scim.get(f"/Users/{user['id']}")["title"] == "A"


def test_bad_requests_get_the_right_scim_type(scim_for):
    scim = scim_for("entra")
    user = scim.post("/Users", ENTRA_USER)
    cases = [
        ("GET", "/Users", None, {"filter": "userName eq"}, "invalidFilter"),
        ("POST", "/Users", {"schemas": ENTRA_USER["schemas"]}, {}, "invalidValue"),
        (
            "PATCH",
            f"/Users/{user['id']}",
            {"schemas": ["x"], "Operations": "no"},
            {},
            "invalidSyntax",
        ),
        (
            "PATCH",
            f"/Users/{user['id']}",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "id", "value": "x"}],
            },
            {},
            "mutability",
        ),
        (
            "PATCH",
            f"/Users/{user['id']}",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove"}],
            },
            {},
            "noTarget",
        ),
    ]
    before = scim.get(f"/Users/{user['id']}")
    for method, path, body, params, scim_type in cases:
        answer = scim.call(method, path, body, expect=400, **params)
        assert answer["scimType"] == scim_type, (method, path, answer)
        assert answer["status"] == "400"
    # An atomic PATCH: the first operation is not kept when the second fails.
    scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "replace", "path": "title", "value": "Kept?"},
            {"op": "replace", "path": 'emails[type eq "none"].value', "value": "x"},
        ],
        expect=400,
    )
    assert scim.get(f"/Users/{user['id']}") == before


def test_paging_sorting_and_search(scim_for):
    scim = scim_for("okta")
    for i in range(5):
        scim.post(
            "/Users",
            {
                **OKTA_USER,
                "userName": f"u{i}@okta.local",
                "externalId": f"x{i}",
                "title": f"T{4 - i}",
            },
        )
    page = scim.get("/Users", startIndex=2, count=2)
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["userName"] for r in page["Resources"]] == ["u1@okta.local", "u2@okta.local"]
    by_title = scim.get("/Users", sortBy="title", sortOrder="descending", count=2)
    assert [r["title"] for r in by_title["Resources"]] == ["T4", "T3"]
    searched = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "u3"',
            "attributes": ["userName"],
        },
        expect=200,
    )
    assert searched["totalResults"] == 1
    assert set(searched["Resources"][0]) == {"schemas", "id", "userName"}


def test_bulk_with_bulk_id_references(scim_for):
    scim = scim_for("entra")
    answer = scim.post(
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "failOnErrors": 1,
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "u1",
                    "data": {"schemas": ENTRA_USER["schemas"], "userName": "bulk.one"},
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g1",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Bulk",
                        "members": [{"value": "bulkId:u1"}],
                    },
                },
            ],
        },
        expect=200,
    )
    assert [op["status"] for op in answer["Operations"]] == ["201", "201"]
    group_id = answer["Operations"][1]["location"].rsplit("/", 1)[1]
    members = scim.get(f"/Groups/{group_id}")["members"]
    user_id = answer["Operations"][0]["location"].rsplit("/", 1)[1]
    assert [m["value"] for m in members] == [user_id]


def test_malformed_if_match_is_invalid_vers(scim_for):
    scim = scim_for("entra")
    user = scim.post("/Users", ENTRA_USER)
    answer = scim.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "path": "title", "value": "x"}],
        expect=400,
        headers={"If-Match": "three"},
    )
    assert answer["scimType"] == "invalidVers"


def test_idp_extension_attribute_overrides_the_source_scope(scim_for, api):
    from scim.schemas import CONNECTOR_USER

    scim = scim_for("entra", True)
    opted_out = scim.post(
        "/Users",
        {
            **ENTRA_USER,
            CONNECTOR_USER: {"syncToContact": False},
            "schemas": [*ENTRA_USER["schemas"], CONNECTOR_USER],
        },
    )
    assert api.get(f"/users/{opted_out['id']}")["contactId"] is None
    scim.patch(
        f"/Users/{opted_out['id']}",
        [{"op": "replace", "path": f"{CONNECTOR_USER}:syncToContact", "value": "True"}],
    )
    assert api.get(f"/users/{opted_out['id']}")["contactId"] is not None
    # A client echoing the user back does not turn the scope into an override.
    plain = scim.post("/Users", {**ENTRA_USER, "userName": "plain@x", "externalId": "p"})
    assert CONNECTOR_USER not in plain


def test_an_admin_switch_is_an_override_the_source_scope_does_not_undo(scim_for, api):
    scim = scim_for("okta", 'title eq "Guide"')  # the scope: only guides get contacts
    user = scim.post("/Users", {**ENTRA_USER, "title": "Analyst"})
    assert api.get(f"/users/{user['id']}")["syncToContactSetBy"] == "source"
    switched = api.patch(f"/users/{user['id']}", {"syncToContact": True}, expect=200)
    assert switched["syncToContact"] is True and switched["contactId"]
    assert switched["syncToContactSetBy"] == "admin"
    # The identity provider's next change of the user keeps the admin's choice.
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "T"}])
    kept = api.get(f"/users/{user['id']}")
    assert (kept["syncToContact"], kept["syncToContactSetBy"]) == (True, "admin")
    # Off by the admin stays off, even when the scope now says on.
    api.patch(f"/users/{user['id']}", {"syncToContact": False}, expect=200)
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": "Guide"}])
    assert api.get(f"/users/{user['id']}")["syncToContact"] is False
    # null: follow the source again, decided at once.
    followed = api.patch(f"/users/{user['id']}", {"syncToContact": None}, expect=200)
    assert (followed["syncToContact"], followed["syncToContactSetBy"]) == (True, "source")
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": "Chef"}])
    assert api.get(f"/users/{user['id']}")["syncToContact"] is False
    events = api.get("/audit", objectType="user", objectId=user["id"], action="user.sync")
    afters = [e["after"] for e in events["items"]]
    assert {"syncToContactSetBy": "admin"} in afters, afters


def test_a_local_user_has_no_source_scope_to_follow(api):
    local = api.create_user("l@example.com", sync=True)
    assert local["syncToContactSetBy"] == "admin"
    refused = api.patch(f"/users/{local['id']}", {"syncToContact": None}, expect=400)
    assert refused["field"] == "syncToContact" and "local user" in refused["message"]
    assert api.patch(f"/users/{local['id']}", {"syncToContact": "yes"}, expect=400)


def test_oversized_scim_body_gets_413(scim_for, settings):
    scim = scim_for("entra")
    body = {**ENTRA_USER, "displayName": "x" * (settings.server.max_body_bytes + 1)}
    answer = scim.post("/Users", body, expect=413)
    assert answer["status"] == "413"
    assert scim.get("/Users")["totalResults"] == 0


def test_concurrent_patches_of_one_user_lose_no_write(scim_for, app):
    scim = scim_for("entra")
    user = scim.post("/Users", ENTRA_USER)

    def add_roles(worker: int) -> None:
        client = ScimClient(app.test_client(), scim.token)
        for i in range(5):
            client.patch(
                f"/Users/{user['id']}",
                [{"op": "add", "path": "roles", "value": [{"value": f"r{worker}-{i}"}]}],
            )

    in_threads(add_roles, workers=4)
    roles = {r["value"] for r in scim.get(f"/Users/{user['id']}")["roles"]}
    assert roles == {f"r{w}-{i}" for w in range(4) for i in range(5)}


def test_idp_post_recreates_a_user_an_admin_deleted(scim_for, api, ctx):
    from sqlalchemy import select

    from connector.db.models import SuppressedUser

    scim = scim_for("entra")
    user = scim.post("/Users", ENTRA_USER)
    api.delete(f"/users/{user['id']}", expect=204)
    remembered = ctx.run(lambda s: s.scalars(select(SuppressedUser.external_key)).all())
    assert remembered == [ENTRA_USER["externalId"]]
    again = scim.post("/Users", ENTRA_USER)
    # Within the grace period the same anchor brings the same user back (its id and history).
    assert again["id"] == user["id"]
    assert ctx.run(lambda s: s.scalars(select(SuppressedUser.external_key)).all()) == []
    assert api.get("/deleted")["total"] == 0
