"""Soft deletion: a deleted user (SCIM DELETE, admin delete, entry gone at LDAP
reconciliation: see test_ldap_soft_deletion.py) stays restorable with its contact
for the grace period, comes back by its anchor, and is gone after the purge; a SCIM
source's deletion guard holds deletions until an admin confirms or rejects them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from connector.db.models import DeletedObject, utcnow
from connector.services import deletion, sources, tokens
from tests.integration.scim_client import ScimClient


@pytest.fixture
def scim(app, ctx) -> ScimClient:
    """A SCIM client of source ``idp``, whose users all get contacts."""
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    ctx.run(lambda s: sources.set_sync_scope(s, "test", "idp", True))
    return ScimClient(app.test_client(), secret)


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"person{n}@example.org",
        "externalId": f"ext-{n}",
        "name": {"givenName": f"Given{n}", "familyName": "Person"},
        "emails": [{"type": "work", "value": f"person{n}@example.org", "primary": True}],
        "active": True,
        **extra,
    }


def contact_ids(api) -> set[str]:
    return {c["id"] for c in api.get("/contacts", count=1000)["items"]}


def delete_contacts_with_users(api) -> None:
    api.patch("/settings", {"deleteContactWithUser": True}, expect=200)


def expire_all(ctx) -> None:
    """The grace period of every tombstone ends (instead of waiting for it)."""
    past = utcnow() - timedelta(seconds=1)
    ctx.run(lambda s: s.execute(update(DeletedObject).values(purge_after=past)))


# ------------------------------------------------------------------ SCIM DELETE


def test_a_scim_deleted_user_is_gone_for_its_source_and_the_address_book_until_restored(scim, api):
    delete_contacts_with_users(api)
    created = scim.post("/Users", person(1))
    contact_id = api.get(f"/users/{created['id']}")["contactId"]
    assert contact_id in contact_ids(api)

    scim.delete(f"/Users/{created['id']}")
    scim.get(f"/Users/{created['id']}", expect=404)
    assert scim.get("/Users")["totalResults"] == 0
    assert contact_id not in contact_ids(api)
    assert contact_id not in api.get("/contacts.vcf")
    api.get(f"/contacts/{contact_id}", expect=404)

    listed = api.get("/deleted")
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["kind"], item["state"], item["name"]) == ("user", "pending", "person1@example.org")
    assert (item["source"], item["deletedBy"], item["origin"]) == ("idp", "scim:idp", "source")
    assert (item["contactId"], item["contactDeleted"], item["anchor"]) == (
        contact_id,
        True,
        "ext-1",
    )
    assert item["purgeAfter"] > item["deletedAt"]

    restored = api.post(f"/deleted/{item['id']}/restore", expect=200)
    assert restored == {"kind": "user", "userId": created["id"], "contactId": contact_id}
    assert scim.get(f"/Users/{created['id']}")["userName"] == "person1@example.org"
    contact = api.get(f"/contacts/{contact_id}")
    assert contact["managedBy"]["userId"] == created["id"]
    assert contact["fields"]["firstName"] == "Given1"
    assert api.get("/deleted")["total"] == 0
    actions = [e["action"] for e in api.get("/audit", objectId=created["id"])["items"]]
    assert actions[:2] == ["user.restore", "user.delete"]
    # Searching by e-mail finds it again (its user_emails rows came back too).
    found = scim.get("/Users", filter='emails.value eq "person1@example.org"')
    assert found["totalResults"] == 1


def test_after_the_purge_a_deleted_user_is_gone_for_good(scim, api, ctx, started):
    created = scim.post("/Users", person(1))
    scim.delete(f"/Users/{created['id']}")
    [item] = api.get("/deleted")["items"]

    assert started.runner.purge_deleted() == 0  # within the grace period: kept
    expire_all(ctx)
    assert api.get("/deleted")["total"] == 0  # past its purge date: no longer offered
    api.post(f"/deleted/{item['id']}/restore", expect=404)
    assert started.runner.purge_deleted() == 1
    assert ctx.run(lambda s: s.scalars(select(DeletedObject)).all()) == []
    purged = api.get("/audit", action="deletion.purge")["items"]
    assert [e["objectId"] for e in purged] == [created["id"]]
    # Created again after the purge: a new user.
    again = scim.post("/Users", person(1))
    assert again["id"] != created["id"]


def test_re_creation_by_the_same_anchor_revives_the_user_and_its_contact(scim, api):
    delete_contacts_with_users(api)
    created = scim.post("/Users", person(1))
    contact_id = api.get(f"/users/{created['id']}")["contactId"]
    scim.delete(f"/Users/{created['id']}")

    again = scim.post("/Users", person(1, title="Returned"))
    assert again["id"] == created["id"]
    assert again["title"] == "Returned"
    user = api.get(f"/users/{created['id']}")
    assert user["contactId"] == contact_id
    assert api.get(f"/contacts/{contact_id}")["managedBy"]["userId"] == created["id"]
    assert api.get("/deleted")["total"] == 0
    history = [e["action"] for e in api.get("/audit", objectId=created["id"])["items"]]
    assert history[-1] == "user.create" and "user.restore" in history
    # Another source's user with the same externalId is not the same user.
    assert api.get("/users", source="idp")["total"] == 1


def test_a_restore_whose_username_is_taken_meanwhile_is_a_conflict(scim, api, ctx):
    created = scim.post("/Users", person(1))
    scim.delete(f"/Users/{created['id']}")
    [item] = api.get("/deleted")["items"]
    api.create_user("person1@example.org")

    refused = api.post(f"/deleted/{item['id']}/restore", expect=409)
    assert refused["field"] == "userName"
    assert "person1@example.org" in refused["message"]
    assert api.get("/deleted")["total"] == 1  # nothing changed
    api.post("/deleted/nope/restore", expect=404)


def test_a_grace_period_of_zero_deletes_at_once(scim, api, settings, started):
    started.ctx.settings = settings.model_copy(
        update={"deletion": settings.deletion.model_copy(update={"grace_period": timedelta(0)})}
    )
    created = scim.post("/Users", person(1))
    scim.delete(f"/Users/{created['id']}")
    assert api.get("/deleted")["total"] == 0
    assert started.runner.purge_deleted() == 1
    assert scim.post("/Users", person(1))["id"] != created["id"]


# ------------------------------------------------------------------ admin delete, contacts


def test_an_admin_deleted_user_is_restorable_and_its_suppression_can_be_lifted(scim, api):
    created = scim.post("/Users", person(1))
    contact_id = api.get(f"/users/{created['id']}")["contactId"]
    api.delete(f"/users/{created['id']}", expect=204)
    # "Delete contact when user is deleted" is off: the contact stays, unlinked.
    assert api.get(f"/contacts/{contact_id}")["managedBy"] is None

    [item] = api.get("/deleted", source="idp", kind="user")["items"]
    assert (item["origin"], item["deletedBy"], item["contactDeleted"]) == (
        "admin",
        "admin:tester",
        False,
    )
    [suppression] = api.get("/deleted/suppressions")["items"]
    assert item["suppressionId"] == suppression["id"]
    assert (suppression["key"], suppression["source"]) == ("ext-1", "idp")

    api.post(f"/deleted/{item['id']}/restore", expect=200)
    assert api.get(f"/contacts/{contact_id}")["managedBy"]["userId"] == created["id"]
    assert api.get("/deleted/suppressions")["total"] == 0  # a restored user is not suppressed

    api.delete(f"/users/{created['id']}", expect=204)
    [suppression] = api.get("/deleted/suppressions")["items"]
    api.delete(f"/deleted/suppressions/{suppression['id']}", expect=204)
    assert api.get("/deleted/suppressions")["total"] == 0
    assert api.get("/deleted")["items"][0]["suppressionId"] is None
    api.delete(f"/deleted/suppressions/{suppression['id']}", expect=404)
    assert api.get("/audit", action="suppression.lift")["total"] == 1


def test_a_contact_deleted_because_its_user_was_deactivated_is_restorable_alone(scim, api):
    api.patch("/settings", {"onDeactivate": "delete"}, expect=200)
    created = scim.post("/Users", person(1))
    contact_id = api.get(f"/users/{created['id']}")["contactId"]
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert contact_id not in contact_ids(api)

    [item] = api.get("/deleted", kind="contact")["items"]
    assert (item["objectId"], item["source"]) == (contact_id, "idp")
    api.get("/deleted", kind="group", expect=400)
    restored = api.post(f"/deleted/{item['id']}/restore", expect=200)
    assert restored == {"kind": "contact", "userId": created["id"], "contactId": contact_id}
    assert api.get(f"/contacts/{contact_id}")["managedBy"]["userId"] == created["id"]


def test_paging_and_filters_of_the_deleted_list(scim, api):
    other = api.create_user("local1")
    for n in range(3):
        scim.delete(f"/Users/{scim.post('/Users', person(n))['id']}")
    api.delete(f"/users/{other['id']}", expect=204)

    assert api.get("/deleted")["total"] == 4
    page = api.get("/deleted", source="idp", count=2, startIndex=2)
    assert (page["total"], len(page["items"]), page["startIndex"]) == (3, 2, 2)
    assert api.get("/deleted", source="local")["items"][0]["name"] == "local1"
    assert api.get("/deleted", source="nobody")["total"] == 0


# ------------------------------------------------------------------ the SCIM deletion guard


def guarded(api, scim, users: int, **guard: Any) -> list[dict[str, Any]]:
    delete_contacts_with_users(api)
    made = [scim.post("/Users", person(n)) for n in range(users)]
    body = {"deleteGuard": {"maxCount": 2, "maxPercent": 100, "window": "1h", **guard}}
    source = api.patch("/sources/idp", body, expect=200)
    assert source["deleteGuard"] == body["deleteGuard"] and source["blocked"] is False
    return made


def test_past_its_threshold_a_scim_source_holds_deletions_until_confirmed(scim, api, ctx):
    made = guarded(api, scim, 5)
    contacts = {u["id"]: api.get(f"/users/{u['id']}")["contactId"] for u in made}
    for user in made[:4]:
        scim.delete(f"/Users/{user['id']}")  # the identity provider's normal answer
        scim.get(f"/Users/{user['id']}", expect=404)

    book = contact_ids(api)
    assert contacts[made[0]["id"]] not in book and contacts[made[1]["id"]] not in book
    # The third and fourth deletions passed the guard: held, their contacts stay.
    assert {contacts[made[2]["id"]], contacts[made[3]["id"]]} <= book
    [source] = [s for s in api.get("/sources")["items"] if s["name"] == "idp"]
    assert (source["blocked"], source["heldDeletions"]) == (True, 2)
    held = api.get("/deleted", source="idp")["items"]
    assert sorted(i["state"] for i in held) == ["held", "held", "pending", "pending"]
    assert all(i["purgeAfter"] is None for i in held if i["state"] == "held")

    # Blocked: the next deletion is held too, whatever the count.
    scim.delete(f"/Users/{made[4]['id']}")
    assert contacts[made[4]["id"]] in contact_ids(api)
    # Held deletions are never purged, however late.
    ctx.run(lambda s: deletion.purge(s, now=utcnow() + timedelta(days=365)))
    assert [i["state"] for i in api.get("/deleted")["items"]] == ["held"] * 3
    assert {contacts[u["id"]] for u in made[2:]} <= contact_ids(api)

    confirmed = api.post("/sources/idp/held/confirm", expect=200)
    assert confirmed == {"source": "idp", "confirmed": 3}
    assert not set(contacts.values()) & contact_ids(api)
    [source] = [s for s in api.get("/sources")["items"] if s["name"] == "idp"]
    assert (source["blocked"], source["heldDeletions"]) == (False, 0)
    assert {i["state"] for i in api.get("/deleted")["items"]} == {"pending"}
    api.post("/sources/idp/held/confirm", expect=409)  # nothing held any more
    # Confirmed deletions are ordinary ones: restorable with their contacts.
    item = next(i for i in api.get("/deleted")["items"] if i["objectId"] == made[4]["id"])
    api.post(f"/deleted/{item['id']}/restore", expect=200)
    assert contacts[made[4]["id"]] in contact_ids(api)


def test_rejecting_held_deletions_brings_the_users_back_linked_to_their_contacts(scim, api):
    made = guarded(api, scim, 4, maxCount=10, maxPercent=25)
    contacts = {u["id"]: api.get(f"/users/{u['id']}")["contactId"] for u in made}
    scim.delete(f"/Users/{made[0]['id']}")  # 1 of 4: 25 %, allowed
    scim.delete(f"/Users/{made[1]['id']}")  # 2 of 4: past 25 %, held
    scim.delete(f"/Users/{made[2]['id']}")  # held (the source is blocked)

    rejected = api.post("/sources/idp/held/reject", expect=200)
    assert rejected == {"source": "idp", "restored": 2}
    for user in made[1:]:
        assert scim.get(f"/Users/{user['id']}")["id"] == user["id"]
        contact = api.get(f"/contacts/{contacts[user['id']]}")
        assert contact["managedBy"]["userId"] == user["id"]
    assert [i["objectId"] for i in api.get("/deleted")["items"]] == [made[0]["id"]]
    assert api.get("/audit", action="deletion.reject")["total"] == 1
    api.post("/sources/idp/held/reject", expect=409)
    api.post("/sources/nope/held/reject", expect=404)


def test_the_guard_counts_only_the_window_and_only_the_source(scim, api, ctx):
    made = guarded(api, scim, 4, maxCount=1)
    scim.delete(f"/Users/{made[0]['id']}")
    # An hour later the first deletion is out of the window.
    earlier = utcnow() - timedelta(hours=2)
    ctx.run(lambda s: s.execute(update(DeletedObject).values(deleted_at=earlier)))
    scim.delete(f"/Users/{made[1]['id']}")
    api.delete(f"/users/{made[2]['id']}", expect=204)  # an admin's deletion is not held
    assert {i["state"] for i in api.get("/deleted")["items"]} == {"pending"}
    scim.delete(f"/Users/{made[3]['id']}")  # the second within the hour: held
    assert sorted(i["state"] for i in api.get("/deleted")["items"]) == [
        "held",
        "pending",
        "pending",
        "pending",
    ]


def test_the_guard_is_off_by_default_and_refuses_bad_settings(scim, api):
    delete_contacts_with_users(api)
    made = [scim.post("/Users", person(n)) for n in range(3)]
    [source] = [s for s in api.get("/sources")["items"] if s["name"] == "idp"]
    assert source["deleteGuard"] is None
    for user in made:
        scim.delete(f"/Users/{user['id']}")
    assert {i["state"] for i in api.get("/deleted")["items"]} == {"pending"}

    for bad, field in (
        ({"window": "soon"}, "deleteGuard.window"),
        ({"window": "0"}, "deleteGuard.window"),
        ({"maxCount": -1}, "deleteGuard.maxCount"),
        ({"maxPercent": 101}, "deleteGuard.maxPercent"),
        ({"maxCount": True}, "deleteGuard.maxCount"),
        ({"what": 1}, "deleteGuard.what"),
        ("1h", "deleteGuard"),
    ):
        answer = api.patch("/sources/idp", {"deleteGuard": bad}, expect=400)
        assert answer["field"] == field, (bad, answer)
    answer = api.patch("/sources/local", {"deleteGuard": {"maxCount": 1}}, expect=400)
    assert "only SCIM sources" in answer["message"]
    api.patch("/sources/nope", {"deleteGuard": None}, expect=404)
    on = api.patch("/sources/idp", {"deleteGuard": {"maxCount": 1, "window": "30m"}}, expect=200)
    assert on["deleteGuard"] == {"maxCount": 1, "maxPercent": 100.0, "window": "30m"}
    off = api.patch("/sources/idp", {"deleteGuard": None}, expect=200)
    assert off["deleteGuard"] is None
    assert api.get("/audit", action="source.guard")["total"] == 2


def deactivate(scim, user: dict[str, Any]) -> None:
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}])


def test_past_its_threshold_a_scim_source_holds_deactivations_too(scim, api):
    made = guarded(api, scim, 4, maxCount=1)
    api.patch("/settings", {"onDeactivate": "delete"}, expect=200)
    contacts = {u["id"]: api.get(f"/users/{u['id']}")["contactId"] for u in made}
    deactivate(scim, made[0])  # the one the guard allows: its contact goes
    deactivate(scim, made[1])  # past the threshold: held, the contact stays
    assert scim.get(f"/Users/{made[1]['id']}")["active"] is False  # the IdP's view
    book = contact_ids(api)
    assert contacts[made[0]["id"]] not in book and contacts[made[1]["id"]] in book
    # A later change of the held user does not carry the deactivation to its contact.
    scim.patch(f"/Users/{made[1]['id']}", [{"op": "replace", "path": "title", "value": "T"}])
    assert contacts[made[1]["id"]] in contact_ids(api)
    [source] = [s for s in api.get("/sources")["items"] if s["name"] == "idp"]
    assert (source["blocked"], source["heldDeletions"]) == (True, 1)
    # Deactivations are not deletions: the list of deleted objects has only the contact.
    assert [i["kind"] for i in api.get("/deleted")["items"]] == ["contact"]

    assert api.post("/sources/idp/held/confirm", expect=200)["confirmed"] == 1
    assert contacts[made[1]["id"]] not in contact_ids(api)
    assert api.get("/sources")["items"][0]["blocked"] is False


def test_rejecting_a_held_deactivation_makes_the_user_active_again(scim, api):
    made = guarded(api, scim, 4, maxCount=0)
    api.patch("/settings", {"onDeactivate": "delete"}, expect=200)
    contact_id = api.get(f"/users/{made[0]['id']}")["contactId"]
    deactivate(scim, made[0])
    assert contact_id in contact_ids(api)
    assert api.post("/sources/idp/held/reject", expect=200)["restored"] == 1
    assert scim.get(f"/Users/{made[0]['id']}")["active"] is True
    assert api.get(f"/contacts/{contact_id}")["managedBy"]["userId"] == made[0]["id"]
    assert api.get("/sources")["items"][0]["blocked"] is False


def test_counted_deactivations_leave_with_the_window(scim, api, ctx, started):
    made = guarded(api, scim, 4, maxCount=1)
    deactivate(scim, made[0])
    earlier = utcnow() - timedelta(hours=2)
    ctx.run(
        lambda s: s.execute(update(DeletedObject).values(deleted_at=earlier, purge_after=earlier))
    )
    assert started.runner.purge_deleted() == 1
    assert api.get("/audit", action="deletion.purge")["total"] == 0
    deactivate(scim, made[1])  # the first one is out of the window: allowed
    assert api.get("/sources")["items"][0]["blocked"] is False


def test_a_held_deactivation_the_identity_provider_undoes_no_longer_blocks(scim, api):
    made = guarded(api, scim, 3, maxCount=0)
    api.patch("/settings", {"onDeactivate": "delete"}, expect=200)
    contact_id = api.get(f"/users/{made[0]['id']}")["contactId"]
    deactivate(scim, made[0])
    assert api.get("/sources")["items"][0]["blocked"] is True
    scim.patch(f"/Users/{made[0]['id']}", [{"op": "replace", "path": "active", "value": True}])
    assert api.get("/sources")["items"][0]["blocked"] is False
    assert api.get(f"/contacts/{contact_id}")["managedBy"]["userId"] == made[0]["id"]
    # A deletion settles a held deactivation too (the deletion itself is held here).
    deactivate(scim, made[1])
    scim.delete(f"/Users/{made[1]['id']}")
    assert [i["kind"] for i in api.get("/deleted")["items"]] == ["user"]
    assert api.get("/sources")["items"][0]["heldDeletions"] == 1
