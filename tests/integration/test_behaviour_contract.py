"""Every row of DESIGN.md's behaviour table, through the admin REST API.

Runs on SQLite and PostgreSQL (the ``database_url`` fixture is parametrised).
"""

from __future__ import annotations

import pytest

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _row(user_field: str, contact_field: str) -> dict[str, str]:
    return {"userField": user_field, "contactField": contact_field}


# ------------------------------------------------------------------ sync switch


def test_switching_sync_on_creates_one_contact_with_mapped_fields(api, barbara):
    user = api.create_user(**barbara, sync=True)
    assert user["contactId"]
    contact = api.contact(user["contactId"])
    assert contact["fields"]["firstName"] == "Barbara"
    assert contact["fields"]["lastName"] == "Jensen"
    assert contact["fields"]["title"] == "Dr."  # "Academic title" → "Title"
    assert contact["fields"]["email"] == "bjensen@example.com"
    assert contact["fields"]["email2"] == "babs@jensen.org"
    assert contact["fields"]["department"] == "Tour Operations"
    assert contact["fields"]["manager"] == "John Smith"
    assert contact["fields"]["city"] == "Hollywood"
    managed_by = contact["managedBy"]
    assert managed_by.pop("reason").endswith(
        "is its data source; edit the user instead, or switch off its synchronisation"
    )
    assert managed_by == {
        "userId": user["id"],
        "userName": barbara["userName"],
        "source": "local",
        "direction": "user_to_contact",
        "readOnly": True,
    }
    assert api.get("/contacts")["total"] == 1


def test_user_without_sync_gets_no_contact_until_switched_on(api, barbara):
    user = api.create_user(**barbara)
    assert user["contactId"] is None
    assert api.get("/contacts")["total"] == 0
    switched = api.patch(f"/users/{user['id']}", {"syncToContact": True}, expect=200)
    assert switched["syncToContact"] is True
    assert api.contact(switched["contactId"])["fields"]["lastName"] == "Jensen"


def test_switch_off_pauses_link_and_contact_becomes_editable(api, barbara):
    user = api.create_user(**barbara, sync=True)
    contact_id = user["contactId"]
    api.patch(f"/users/{user['id']}", {"syncToContact": False}, expect=200)
    contact = api.contact(contact_id)
    assert contact["managedBy"] is None
    assert contact["linkState"] == "paused"
    edited = api.patch(
        f"/contacts/{contact_id}", {"fields": {"notes": "met at the fair"}}, expect=200
    )
    assert edited["fields"]["notes"] == "met at the fair"
    # User changes no longer reach a paused contact.
    api.patch(f"/users/{user['id']}", {"title": "Chief Guide"}, expect=200)
    assert api.contact(contact_id)["fields"]["jobTitle"] == "Tour Guide"


def test_reenabling_resumes_the_same_contact_and_syncs_again(api, barbara):
    user = api.create_user(**barbara, sync=True)
    contact_id = user["contactId"]
    api.patch(f"/users/{user['id']}", {"syncToContact": False}, expect=200)
    api.patch(f"/users/{user['id']}", {"title": "Chief Guide"}, expect=200)
    resumed = api.patch(f"/users/{user['id']}", {"syncToContact": True}, expect=200)
    assert resumed["contactId"] == contact_id
    contact = api.contact(contact_id)
    assert contact["fields"]["jobTitle"] == "Chief Guide"
    assert contact["managedBy"]["userId"] == user["id"]
    assert api.get("/contacts")["total"] == 1


# ------------------------------------------------------------------ direction


def test_managed_contact_cannot_be_edited_or_deleted(api, barbara):
    user = api.create_user(**barbara, sync=True)
    contact_id = user["contactId"]
    before = api.contact(contact_id)
    for method, body in (
        ("PATCH", {"fields": {"firstName": "Eve"}}),
        ("PUT", {"fields": {"firstName": "Eve"}}),
        ("DELETE", None),
    ):
        answer = api.call(method, f"/contacts/{contact_id}", body, expect=409)
        assert answer["error"] == "managed_contact"
        assert barbara["userName"] in answer["message"]
        assert user["id"] in answer["message"]
    assert api.contact(contact_id) == before


def test_user_changes_flow_to_the_contact(api, barbara):
    user = api.create_user(**barbara, sync=True)
    api.patch(f"/users/{user['id']}", {"name": {"familyName": "Jensen-Smith"}}, expect=200)
    assert api.contact(user["contactId"])["fields"]["lastName"] == "Jensen-Smith"


def test_reversed_direction_round_trip(api, barbara):
    user = api.create_user(**barbara, sync=True)
    contact_id = user["contactId"]
    api.patch("/settings", {"direction": "contact_to_user"}, expect=200)
    contact = api.contact(contact_id)
    assert contact["managedBy"]["direction"] == "contact_to_user"
    api.patch(
        f"/contacts/{contact_id}",
        {"fields": {"lastName": "Jansen", "email": "bj@new.example"}},
        expect=200,
    )
    changed = api.get(f"/users/{user['id']}")
    assert changed["name"]["familyName"] == "Jansen"
    work = [e for e in changed["emails"] if e["type"] == "work"]
    assert work[0]["value"] == "bj@new.example"
    # User changes no longer touch the contact while it is the source.
    api.patch(f"/users/{user['id']}", {"title": "Night Guide"}, expect=200)
    assert api.contact(contact_id)["fields"]["jobTitle"] == "Tour Guide"
    # Back to the default: the user is the source again.
    api.patch("/settings", {"direction": "user_to_contact"}, expect=200)
    api.patch(f"/users/{user['id']}", {"title": "Day Guide"}, expect=200)
    contact = api.contact(contact_id)
    assert contact["fields"]["jobTitle"] == "Day Guide"
    assert contact["fields"]["lastName"] == "Jansen"
    api.patch(f"/contacts/{contact_id}", {"fields": {"lastName": "X"}}, expect=409)


def test_per_user_direction_overrides_the_global_setting(api, barbara):
    reversed_user = api.create_user(**barbara, sync=True)
    other = api.create_user("other@example.com", sync=True, name={"familyName": "Other"})
    api.patch(f"/users/{reversed_user['id']}", {"syncDirection": "contact_to_user"}, expect=200)
    api.patch(
        f"/contacts/{reversed_user['contactId']}", {"fields": {"lastName": "Doe"}}, expect=200
    )
    assert api.get(f"/users/{reversed_user['id']}")["name"]["familyName"] == "Doe"
    api.patch(f"/contacts/{other['contactId']}", {"fields": {"lastName": "Doe"}}, expect=409)
    bad = api.patch(f"/users/{other['id']}", {"syncDirection": "sideways"}, expect=400)
    assert bad["field"] == "syncDirection"


# ------------------------------------------------------------------ field mapping


def test_unmapped_contact_field_stays_empty_after_resync(api, barbara):
    user = api.create_user(**barbara, sync=True)
    assert api.contact(user["contactId"])["fields"]["email"] == "bjensen@example.com"
    rows = [r for r in api.get("/mapping")["rows"] if r["contactField"] != "email"]
    api.put("/mapping", {"rows": rows}, expect=200)
    job = api.wait_for_job(api.post("/contacts/resync", expect=202)["id"])
    assert job["state"] == "done"
    fields = api.contact(user["contactId"])["fields"]
    assert "email" not in fields
    assert fields["lastName"] == "Jensen"
    # A later user change does not bring it back either.
    api.patch(f"/users/{user['id']}", {"title": "Boss"}, expect=200)
    assert "email" not in api.contact(user["contactId"])["fields"]


def test_mapping_academic_title_example_from_the_seed(api, barbara):
    api.put(
        "/mapping",
        {"rows": [_row("name.honorificPrefix", "title"), _row("name.familyName", "lastName")]},
        expect=200,
    )
    user = api.create_user(**barbara, sync=True)
    assert api.contact(user["contactId"])["fields"] == {"title": "Dr.", "lastName": "Jensen"}


def test_duplicate_fields_in_a_mapping_are_rejected(api):
    before = api.get("/mapping")
    dup_user = api.put(
        "/mapping",
        {"rows": [_row("name.givenName", "firstName"), _row("name.givenName", "lastName")]},
        expect=400,
    )
    assert "row 2" in dup_user["message"] and "name.givenName" in dup_user["message"]
    dup_contact = api.put(
        "/mapping",
        {"rows": [_row("name.givenName", "firstName"), _row("nickName", "firstName")]},
        expect=400,
    )
    assert "row 2" in dup_contact["message"] and "firstName" in dup_contact["message"]
    assert api.get("/mapping") == before


def test_unknown_fields_in_a_mapping_are_rejected(api):
    before = api.get("/mapping")
    unknown_user = api.put("/mapping", {"rows": [_row("shoeSize", "firstName")]}, expect=400)
    assert unknown_user["field"] == "shoeSize" and "unknown user field" in unknown_user["message"]
    unknown_contact = api.put(
        "/mapping", {"rows": [_row("name.givenName", "favouriteColour")]}, expect=400
    )
    assert unknown_contact["field"] == "favouriteColour"
    malformed = api.put("/mapping", {"rows": [{"userField": "name.givenName"}]}, expect=400)
    assert "row 1" in malformed["message"]
    assert api.get("/mapping") == before


def test_delete_all_mappings_and_reset_to_default(api, barbara):
    default = api.get("/mapping")
    assert len(default["rows"]) >= 20
    cleared = api.delete("/mapping", expect=200)
    assert cleared["rows"] == [] and cleared["version"] == default["version"] + 1
    user = api.create_user(**barbara, sync=True)
    assert api.contact(user["contactId"])["fields"] == {}
    reset = api.post("/mapping/reset", expect=200)
    assert reset["rows"] == default["rows"]
    assert reset["staleContacts"] == 1


def test_a_mapping_save_based_on_an_older_version_is_refused_with_the_current_one(api):
    loaded = api.get("/mapping")
    first = api.put(
        "/mapping", {"rows": loaded["rows"][:2], "version": loaded["version"]}, expect=200
    )
    assert first["version"] == loaded["version"] + 1
    events = api.get("/audit", objectType="mapping")["total"]
    late = api.put(
        "/mapping", {"rows": loaded["rows"][:3], "version": loaded["version"]}, expect=409
    )
    assert late["error"] == "conflict" and late["currentVersion"] == first["version"]
    assert f"version {first['version']} is current" in late["message"]
    header = api.client.put(
        "/api/v1/mapping",
        json={"rows": loaded["rows"][:3]},
        headers={**api.headers, "If-Match": f'W/"{loaded["version"]}"'},
    )
    assert header.status_code == 409 and header.json["currentVersion"] == first["version"]
    assert api.get("/mapping")["rows"] == first["rows"]
    assert api.get("/audit", objectType="mapping")["total"] == events
    # Based on the current version, or without one (a script), the save goes through.
    ok = api.client.put(
        "/api/v1/mapping",
        json={"rows": loaded["rows"][:3]},
        headers={**api.headers, "If-Match": f'W/"{first["version"]}"'},
    )
    assert ok.status_code == 200 and ok.json["version"] == first["version"] + 1
    blind = api.put("/mapping", {"rows": loaded["rows"][:4]}, expect=200)
    assert blind["version"] == first["version"] + 2
    bad = api.client.put(
        "/api/v1/mapping", json={"rows": []}, headers={**api.headers, "If-Match": "three"}
    )
    assert bad.status_code == 400 and bad.json["field"] == "If-Match"
    for header in ('W/"\u00b2"', 'W/"1"x', "W/" + "9" * 30):
        bad = api.client.put(
            "/api/v1/mapping", json={"rows": []}, headers={**api.headers, "If-Match": header}
        )
        assert bad.status_code == 400, header


def test_saving_the_current_mapping_again_changes_nothing(api, barbara):
    api.create_user(**barbara, sync=True)
    current = api.get("/mapping")
    events = api.get("/audit", objectType="mapping")["total"]
    again = api.put("/mapping", {"rows": current["rows"], "version": current["version"]})
    assert again == current
    assert api.put("/mapping", {"rows": current["rows"]}) == current
    assert api.get("/mapping") == {**current, "staleContacts": 0}
    assert api.get("/audit", objectType="mapping")["total"] == events


def test_fields_catalogue_lists_both_columns(api):
    catalogue = api.get("/fields")
    user_ids = {f["id"] for f in catalogue["user"]}
    contact_ids = {f["id"] for f in catalogue["contact"]}
    assert {
        "name.honorificPrefix",
        'emails[type eq "work"].value',
        f"{ENTERPRISE}:department",
    } <= user_ids
    assert {"title", "firstName", "lastName", "email", "phone"} <= contact_ids
    labels = {f["id"]: f["label"] for f in catalogue["user"]}
    assert labels["name.honorificPrefix"] == "Academic title"


# ------------------------------------------------------------------ mapping changes


def test_mapping_change_has_no_effect_until_resync(api, barbara):
    user = api.create_user(**barbara, sync=True)
    contact_id = user["contactId"]
    before = api.contact(contact_id)
    saved = api.put("/mapping", {"rows": [_row("name.familyName", "lastName")]}, expect=200)
    assert saved["staleContacts"] == 1
    assert api.contact(contact_id)["fields"] == before["fields"]
    assert api.contact(contact_id)["mappingVersion"] == before["mappingVersion"]
    job = api.wait_for_job(api.post("/contacts/resync", expect=202)["id"])
    assert (job["state"], job["done"], job["changed"]) == ("done", 1, 1)
    after = api.contact(contact_id)
    assert after["fields"] == {"lastName": "Jensen"}
    assert after["mappingVersion"] == saved["version"]
    assert api.get("/mapping")["staleContacts"] == 0


def test_resync_does_not_rewrite_unchanged_contacts(api, barbara):
    user = api.create_user(**barbara, sync=True)
    other = api.create_user("x@example.com", sync=True, name={"familyName": "X"})
    api.put("/mapping", {"rows": [*api.get("/mapping")["rows"]]}, expect=200)
    version_before = api.contact(user["contactId"])["version"]
    job = api.wait_for_job(api.post("/contacts/resync", expect=202)["id"])
    assert (job["done"], job["changed"]) == (2, 0)
    assert api.contact(user["contactId"])["version"] == version_before
    assert api.contact(other["contactId"])["mappingVersion"] == job["mappingVersion"]


def test_resync_in_batches_covers_every_linked_contact(api):
    # The test settings use batches of 3, so 8 users take several transactions.
    ids = [
        api.create_user(
            f"u{i}@example.com", sync=True, name={"familyName": f"F{i}", "givenName": f"G{i}"}
        )["contactId"]
        for i in range(8)
    ]
    api.put("/mapping", {"rows": [_row("name.givenName", "firstName")]}, expect=200)
    job = api.wait_for_job(api.post("/contacts/resync", expect=202)["id"])
    assert (job["total"], job["done"], job["changed"]) == (8, 8, 8)
    assert [api.contact(i)["fields"] for i in ids] == [{"firstName": f"G{i}"} for i in range(8)]


# ------------------------------------------------------------------ re-sync triggers


def test_synchronize_selected_users_reapplies_the_mapping(api, barbara):
    synced = api.create_user(**barbara, sync=True)
    unsynced = api.create_user("n@example.com")
    api.put("/mapping", {"rows": [_row("name.familyName", "lastName")]}, expect=200)
    answer = api.post("/users/sync", {"ids": [synced["id"], unsynced["id"]]}, expect=200)
    assert answer["synced"] == [synced["id"]]
    assert answer["skipped"] == [{"id": unsynced["id"], "reason": "syncToContact is off"}]
    assert api.contact(synced["contactId"])["fields"] == {"lastName": "Jensen"}


def test_synchronize_all_users_is_a_job(api, barbara):
    synced = api.create_user(**barbara, sync=True)
    api.put("/mapping", {"rows": [_row("displayName", "displayName")]}, expect=200)
    job = api.wait_for_job(api.post("/users/sync", {"all": True}, expect=202)["id"])
    assert job["state"] == "done" and job["done"] == 1
    assert api.contact(synced["contactId"])["fields"] == {"displayName": "Babs Jensen"}
    api.post("/users/sync", {"ids": "nope"}, expect=400)
    api.post("/users/sync", {}, expect=400)


# ------------------------------------------------------------------ delete


def test_user_deleted_contact_stays_unlinked_by_default(api, barbara):
    user = api.create_user(**barbara, sync=True)
    api.delete(f"/users/{user['id']}", expect=204)
    api.get(f"/users/{user['id']}", expect=404)
    contact = api.contact(user["contactId"])
    assert contact["managedBy"] is None and contact["linkState"] is None
    api.patch(f"/contacts/{user['contactId']}", {"fields": {"notes": "left"}}, expect=200)


def test_user_deleted_contact_deleted_when_toggle_on(api, barbara):
    api.patch("/settings", {"deleteContactWithUser": True}, expect=200)
    user = api.create_user(**barbara, sync=True)
    api.delete(f"/users/{user['id']}", expect=204)
    api.get(f"/contacts/{user['contactId']}", expect=404)


def test_contact_deleted_user_stays_by_default_when_reversed(api, barbara):
    api.patch("/settings", {"direction": "contact_to_user"}, expect=200)
    user = api.create_user(**barbara, sync=True)
    api.delete(f"/contacts/{user['contactId']}", expect=204)
    kept = api.get(f"/users/{user['id']}")
    assert kept["contactId"] is None and kept["syncToContact"] is False


def test_contact_deleted_user_deleted_when_toggle_on(api, barbara):
    api.patch(
        "/settings", {"direction": "contact_to_user", "deleteUserWithContact": True}, expect=200
    )
    user = api.create_user(**barbara, sync=True)
    api.delete(f"/contacts/{user['contactId']}", expect=204)
    api.get(f"/users/{user['id']}", expect=404)
    deleted = api.get("/audit", objectType="user", objectId=user["id"])["items"][0]
    assert deleted["action"] == "user.delete"


def test_delete_user_with_contact_toggle_has_no_effect_in_default_direction(api, barbara):
    api.patch("/settings", {"deleteUserWithContact": True}, expect=200)
    user = api.create_user(**barbara, sync=True)
    api.delete(f"/contacts/{user['contactId']}", expect=409)
    api.get(f"/users/{user['id']}")


# ------------------------------------------------------------------ deleted inside the connector


def test_admin_deleted_directory_user_is_remembered(ctx, api, barbara):
    from sqlalchemy import select

    from connector.db.models import SuppressedUser
    from connector.services import sources, users

    def create(session):
        source = sources.get_or_create(session, "corp", "ldap")
        return users.create(session, "ldap:corp", source, barbara).id

    user_id = ctx.run(create)
    api.delete(f"/users/{user_id}", expect=204)
    remembered = ctx.run(
        lambda s: [(r.external_key, r.user_name) for r in s.scalars(select(SuppressedUser))]
    )
    assert remembered == [(barbara["externalId"], barbara["userName"])]


# ------------------------------------------------------------------ deactivation


def _deactivate(api, user):
    return api.patch(f"/users/{user['id']}", {"active": False}, expect=200)


def test_deactivation_marks_contact_inactive_by_default(api, barbara):
    user = api.create_user(**barbara, sync=True)
    _deactivate(api, user)
    assert api.contact(user["contactId"])["active"] is False
    api.patch(f"/users/{user['id']}", {"active": True}, expect=200)
    assert api.contact(user["contactId"])["active"] is True


def test_deactivation_keep_policy(api, barbara):
    api.patch("/settings", {"onDeactivate": "keep"}, expect=200)
    user = api.create_user(**barbara, sync=True)
    _deactivate(api, user)
    assert api.contact(user["contactId"])["active"] is True


def test_deactivation_delete_policy_and_reactivation(api, barbara):
    api.patch("/settings", {"onDeactivate": "delete"}, expect=200)
    user = api.create_user(**barbara, sync=True)
    _deactivate(api, user)
    api.get(f"/contacts/{user['contactId']}", expect=404)
    back = api.patch(f"/users/{user['id']}", {"active": True}, expect=200)
    assert back["contactId"] and back["contactId"] != user["contactId"]


@pytest.mark.parametrize("policy_before", ["mark_inactive", "keep"])
def test_update_all_treats_a_deactivated_user_as_synchronize_does(api, policy_before):
    # Users deactivated under another policy, then the policy becomes "delete": the
    # resync job must end where "Synchronize users" ends (the contact deleted), not
    # keep the contact or mark it inactive.
    api.patch("/settings", {"onDeactivate": policy_before}, expect=200)
    by_sync = api.create_user("s@example.com", sync=True, name={"familyName": "S"})
    by_job = api.create_user("j@example.com", sync=True, name={"familyName": "J"})
    _deactivate(api, by_sync)
    _deactivate(api, by_job)
    api.patch("/settings", {"onDeactivate": "delete"}, expect=200)

    api.post("/users/sync", {"ids": [by_sync["id"]]}, expect=200)
    job = api.wait_for_job(api.post("/contacts/resync", expect=202)["id"])

    assert (job["state"], job["done"], job["changed"]) == ("done", 1, 1)
    for user in (by_sync, by_job):
        api.get(f"/contacts/{user['contactId']}", expect=404)
        assert api.get(f"/users/{user['id']}")["contactId"] is None
        event = api.get("/audit", objectType="contact", objectId=user["contactId"])["items"][0]
        assert (event["action"], event["message"]) == (
            "contact.delete",
            f"user {user['userName']} was deactivated",
        )
    back = api.patch(f"/users/{by_job['id']}", {"active": True}, expect=200)
    assert back["contactId"] and back["contactId"] != by_job["contactId"]


def test_bad_settings_are_rejected_without_change(api):
    before = api.get("/settings")
    assert before == {
        "direction": "user_to_contact",
        "deleteContactWithUser": False,
        "deleteUserWithContact": False,
        "onDeactivate": "mark_inactive",
    }
    assert api.patch("/settings", {"direction": "up"}, expect=400)["field"] == "direction"
    assert api.patch("/settings", {"onDeactivate": "shred"}, expect=400)["field"] == "onDeactivate"
    assert api.patch("/settings", {"deleteContactWithUser": "yes"}, expect=400)
    assert api.patch("/settings", {"colour": "red"}, expect=400)["field"] == "colour"
    assert api.get("/settings") == before


# ------------------------------------------------------------------ marker


def test_contacts_list_marks_managed_contacts(api, barbara):
    user = api.create_user(**barbara, sync=True)
    manual = api.post(
        "/contacts", {"fields": {"firstName": "Manual", "lastName": "Entry"}}, expect=201
    )
    assert manual["managedBy"] is None
    managed = api.get("/contacts", managed="true")
    assert [c["id"] for c in managed["items"]] == [user["contactId"]]
    assert managed["items"][0]["managedBy"]["userName"] == barbara["userName"]
    unmanaged = api.get("/contacts", managed="false")
    assert [c["id"] for c in unmanaged["items"]] == [manual["id"]]
    found = api.get("/contacts", q="manual")
    assert [c["id"] for c in found["items"]] == [manual["id"]]


# ------------------------------------------------------------------ audit


def test_every_change_is_audited_with_before_and_after(api, barbara):
    user = api.create_user(**barbara, sync=True)
    api.patch(f"/users/{user['id']}", {"title": "Boss"}, expect=200)
    api.put("/mapping", {"rows": [_row("title", "jobTitle")]}, expect=200)
    api.patch("/settings", {"onDeactivate": "keep"}, expect=200)
    log = api.get("/audit")["items"]
    actions = [e["action"] for e in log]
    assert actions[:2] == ["settings.update", "mapping.save"]
    for expected in ("user.create", "contact.create", "user.update", "contact.update"):
        assert expected in actions
    update = next(e for e in log if e["action"] == "user.update")
    assert update["before"] == {"title": "Tour Guide"} and update["after"] == {"title": "Boss"}
    assert update["actor"] == "admin:tester"
    contact_log = api.get("/audit", objectType="contact", objectId=user["contactId"])["items"]
    assert [e["action"] for e in contact_log] == ["contact.update", "contact.create"]
    assert contact_log[0]["before"]["fields"]["jobTitle"] == "Tour Guide"
    settings_change = log[0]
    assert settings_change["before"]["onDeactivate"] == "mark_inactive"
    assert settings_change["after"]["onDeactivate"] == "keep"


def test_refused_edit_changes_nothing_and_adds_no_audit(api, barbara):
    user = api.create_user(**barbara, sync=True)
    total = api.get("/audit")["total"]
    api.patch(f"/contacts/{user['contactId']}", {"fields": {"firstName": "Eve"}}, expect=409)
    assert api.get("/audit")["total"] == total
