"""The count of contacts "built with an older mapping" is what "Update all synchronized
users" brings up to date: after the job it is 0, paused and reversed links aside."""

from __future__ import annotations


def test_stale_count_leaves_out_the_links_the_resync_job_skips_and_reaches_zero(api):
    users = [api.create_user(f"u{i}@example.com", sync=True, title=f"T{i}") for i in range(4)]
    paused, reversed_, live = users[0], users[1], users[2:]
    api.patch(f"/users/{paused['id']}", {"syncToContact": False}, expect=200)  # link paused
    api.patch(f"/users/{reversed_['id']}", {"syncDirection": "contact_to_user"}, expect=200)
    mapping = api.get("/mapping")
    rows = [r for r in mapping["rows"] if r["userField"] != "title"]
    saved = api.put("/mapping", {"rows": rows, "version": mapping["version"]}, expect=200)
    assert saved["staleContacts"] == len(live)
    job = api.post("/contacts/resync", expect=202)
    assert job["total"] == len(live)
    done = api.wait_for_job(job["id"])
    assert done["state"] == "done" and done["done"] == len(live)
    assert api.get("/mapping")["staleContacts"] == 0
    for user in live:
        contact = api.contact(api.get(f"/users/{user['id']}")["contactId"])
        assert "jobTitle" not in contact["fields"]
    # The paused and the reversed contacts were left as they were.
    for user in (paused, reversed_):
        contact = api.contact(api.get(f"/users/{user['id']}")["contactId"])
        assert contact["fields"]["jobTitle"] == user["title"]


def test_a_resumed_link_counts_again_until_updated(api):
    user = api.create_user("back@example.com", sync=True, title="Chief")
    api.patch(f"/users/{user['id']}", {"syncToContact": False}, expect=200)
    mapping = api.get("/mapping")
    rows = [r for r in mapping["rows"] if r["userField"] != "title"]
    assert api.put("/mapping", {"rows": rows, "version": mapping["version"]})["staleContacts"] == 0
    # Switched on again, the user's contact is rebuilt with the current mapping at once.
    api.patch(f"/users/{user['id']}", {"syncToContact": True}, expect=200)
    assert api.get("/mapping")["staleContacts"] == 0
