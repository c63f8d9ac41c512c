"""Previews of a mapping change and of a scope change, and the per-user explanation.

A preview changes nothing (every table's rows identical before and after, no audit
event) and says what the change then does, contact for contact.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from connector.db.models import AuditEvent, Base
from connector.services import mapping_preview, sources, tokens
from connector.services.context import Context
from scim.schemas import CONNECTOR_USER
from tests.integration.scim_client import ScimClient


def _row(user_field: str, contact_field: str) -> dict[str, str]:
    return {"userField": user_field, "contactField": contact_field}


def _everything(ctx: Context) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order (but when a token was last used:
    every request records that)."""
    with ctx.db.engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(
                    select(*(c for c in table.columns if c.name != "last_used_at")).order_by(
                        *table.primary_key.columns
                    )
                )
            ]
            for table in Base.metadata.sorted_tables
        }


def _contacts_by_id(api) -> dict[str, dict[str, Any]]:
    listed = api.get("/contacts", count=1000)
    return {c["id"]: c for c in listed["Resources" if "Resources" in listed else "items"]}


@pytest.fixture
def scim_source(app, ctx):
    def make(name: str, scope: object) -> ScimClient:
        _, secret = ctx.run(
            lambda s: tokens.create(s, "test", name=name, kind=tokens.SCIM, source_name=name)
        )
        ctx.run(lambda s: sources.set_sync_scope(s, "test", name, scope))
        return ScimClient(app.test_client(), secret)

    return make


# ------------------------------------------------------------------ mapping preview


def _population(api) -> dict[str, dict[str, Any]]:
    """Users whose contacts "Update all" treats each its own way (batches of 3)."""
    made = {}
    for i in range(7):
        made[f"plain{i}"] = api.create_user(
            f"p{i}@example.com",
            sync=True,
            name={"givenName": f"G{i}", "familyName": f"F{i}"},
            **({"title": "Guide"} if i % 2 else {}),
        )
    made["paused"] = api.create_user("paused@example.com", sync=True, name={"givenName": "P"})
    api.patch(f"/users/{made['paused']['id']}", {"syncToContact": False}, expect=200)
    made["reversed"] = api.create_user(
        "rev@example.com", sync=True, name={"givenName": "R"}, syncDirection="contact_to_user"
    )
    made["inactive"] = api.create_user("gone@example.com", sync=True, name={"givenName": "I"})
    api.patch(f"/users/{made['inactive']['id']}", {"active": False}, expect=200)
    api.patch("/settings", {"onDeactivate": "delete"}, expect=200)  # "Update all" deletes it
    return made


def test_a_mapping_preview_changes_nothing_and_is_what_update_all_then_does(api, ctx):
    made = _population(api)
    current = api.get("/mapping")
    rows = [_row("name.givenName", "lastName"), _row("title", "jobTitle")]
    before = _everything(ctx)
    contacts_before = _contacts_by_id(api)

    preview = api.post("/mapping/preview", {"rows": rows, "version": current["version"]}, ids=True)

    assert _everything(ctx) == before  # nothing written, not even an audit event
    # 7 plain and the inactive one: the job's selection (the paused link and the
    # reversed user, whose contact is the data source, are not part of it)
    job_total = 8
    assert preview["contacts"] == job_total
    assert preview["deleted"] == 1 and preview["leftAlone"] == 0
    assert preview["changed"] == preview["updated"] + 1 == 8
    assert preview["savedAsVersion"] == current["version"] + 1
    assert len(preview["samples"]) == preview["changed"]  # samples cover every change
    assert made["paused"]["contactId"] not in preview["changedContactIds"]

    api.put("/mapping", {"rows": rows, "version": current["version"]}, expect=200)
    job = api.wait_for_job(api.post("/contacts/resync", expect=202)["id"])
    after = _contacts_by_id(api)

    assert job["changed"] == preview["changed"]
    assert job["total"] == preview["contacts"]
    changed = {
        cid
        for cid, old in contacts_before.items()
        if cid not in after or after[cid]["version"] != old["version"]
    }
    assert changed == set(preview["changedContactIds"])
    fields: dict[str, dict[str, int]] = {}
    for sample in preview["samples"]:
        cid = sample["contactId"]
        assert sample["before"]["fields"] == contacts_before[cid]["fields"]
        if sample["action"] == "delete":
            assert sample["after"] is None and cid not in after
            continue
        assert sample["after"] == {
            "fields": after[cid]["fields"],
            "active": after[cid]["active"],
        }
        old, new = contacts_before[cid]["fields"], after[cid]["fields"]
        for name in old.keys() | new.keys():
            if old.get(name) != new.get(name):
                kind = "set" if name not in old else "emptied" if name not in new else "changed"
                counts = fields.setdefault(name, {"set": 0, "changed": 0, "emptied": 0})
                counts[kind] += 1
    assert preview["fields"] == fields
    assert "jobTitle" not in fields and fields["lastName"]["changed"] == 7


def test_a_preview_of_the_mapping_in_force_shows_what_stale_contacts_would_get(api):
    user = api.create_user("s@example.com", sync=True, name={"givenName": "S"}, title="Guide")
    saved = api.put("/mapping", {"rows": [_row("title", "jobTitle")]}, expect=200)
    preview = api.post("/mapping/preview", {"rows": saved["rows"]}, expect=200)
    assert preview["savedAsVersion"] == saved["version"] == preview["mappingVersion"]
    assert preview["changed"] == 1
    assert preview["samples"][0]["contactId"] == user["contactId"]
    assert preview["samples"][0]["after"]["fields"] == {"jobTitle": "Guide"}
    emptied = {
        name for name, c in preview["fields"].items() if c == {"set": 0, "changed": 0, "emptied": 1}
    }
    assert "firstName" in emptied and "lastName" not in preview["fields"]
    assert "changedContactIds" not in preview


def test_a_mapping_preview_refuses_what_the_save_refuses(api, ctx):
    current = api.get("/mapping")
    before = _everything(ctx)
    for body in (
        {"rows": [_row("nope", "lastName")]},
        {"rows": [_row("title", "jobTitle"), _row("title", "lastName")]},
        {"rows": "x"},
        {"version": 1},
        {"rows": [], "extra": 1},
        {"rows": [], "version": "1"},
    ):
        refused = api.put("/mapping", body, expect=400)
        assert api.post("/mapping/preview", body, expect=400) == refused
    stale = {"rows": [], "version": current["version"] - 1}
    assert api.post("/mapping/preview", stale, expect=409) == api.put("/mapping", stale, expect=409)
    api.post("/mapping/preview", {"rows": []}, expect=400, ids="maybe")
    assert _everything(ctx) == before


def test_a_preview_reads_beside_a_writer_and_writes_nothing_itself(api, ctx):
    api.create_user("w@example.com", sync=True, name={"givenName": "W"})
    rows = [_row("name.givenName", "lastName")]
    # A write transaction stays open; on SQLite a preview that wanted the write lock
    # would wait for it (the service is called directly: a request through the API
    # records its token's use, a write).
    with ctx.db.engine.connect() as writer, writer.begin():
        writer.execute(text("UPDATE settings SET key = key"))
        answer = ctx.read(lambda s: mapping_preview.preview(s, ctx.catalogue, rows, None, batch=3))
        assert answer["changed"] == 1
    events = ctx.run(lambda s: s.scalar(select(func.count()).select_from(AuditEvent)))

    def write(session):
        session.execute(text("DELETE FROM audit_events"))

    try:
        ctx.read(write)  # PostgreSQL refuses it (READ ONLY); SQLite's is rolled back
    except DBAPIError as exc:
        assert ctx.db.dialect == "postgresql" and "read-only" in str(exc)
    else:
        assert ctx.db.dialect == "sqlite"
    assert ctx.run(lambda s: s.scalar(select(func.count()).select_from(AuditEvent))) == events


# ------------------------------------------------------------------ scope preview


def _state(api, user_id: str) -> tuple[bool, bool]:
    """(switch on, has an active synchronised contact)."""
    user = api.get(f"/users/{user_id}")
    return user["syncToContact"], bool(user["contactId"]) and user["syncToContact"]


def test_a_scope_preview_changes_nothing_and_is_what_the_change_then_does(api, ctx, scim_source):
    scim = scim_source("idp", 'title eq "Guide"')
    base = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "active": True}
    guide = scim.post("/Users", {**base, "userName": "guide", "title": "Guide"})
    analyst = scim.post("/Users", {**base, "userName": "analyst", "title": "Analyst"})
    was_guide = scim.post("/Users", {**base, "userName": "was", "title": "Guide"})
    scim.put(f"/Users/{was_guide['id']}", {**base, "userName": "was", "title": "Analyst"})
    pinned = scim.post("/Users", {**base, "userName": "pinned", "title": "Analyst"})
    api.patch(f"/users/{pinned['id']}", {"syncToContact": False}, expect=200)
    idp_says_no = scim.post(
        "/Users",
        {
            **base,
            "schemas": [*base["schemas"], CONNECTOR_USER],
            "userName": "idp-no",
            "title": "Analyst",
            CONNECTOR_USER: {"syncToContact": False},
        },
    )
    local = api.create_user("local@example.com", title="Analyst")
    everyone = [guide, analyst, was_guide, pinned, idp_says_no]
    states = {u["id"]: _state(api, u["id"]) for u in [*everyone, local]}
    assert states[was_guide["id"]] == (False, False)  # its link is paused
    before = _everything(ctx)

    preview = api.post(
        "/sources/idp/scope/preview", {"syncScope": 'title eq "Analyst"'}, expect=200
    )

    assert _everything(ctx) == before
    assert preview["syncScope"] == {"before": 'title eq "Guide"', "after": 'title eq "Analyst"'}
    assert (preview["users"], preview["setByAdmin"], preview["setByIdentityProvider"]) == (5, 1, 1)
    assert (preview["gain"], preview["lose"]) == (2, 1)
    effects = {s["userId"]: s["contact"] for s in preview["samples"]}
    assert effects == {guide["id"]: "pause", analyst["id"]: "create", was_guide["id"]: "resume"}

    api.patch("/sources/idp", {"syncScope": 'title eq "Analyst"'}, expect=200)
    now = {u["id"]: _state(api, u["id"]) for u in [*everyone, local]}
    gained = {i for i in now if now[i][1] and not states[i][1]}
    lost = {i for i in now if states[i][1] and not now[i][1]}
    assert gained == {i for i, e in effects.items() if e in ("create", "resume")}
    assert lost == {i for i, e in effects.items() if e == "pause"}
    switched = {s["userId"]: s["syncToContact"]["after"] for s in preview["samples"]}
    assert {i for i in now if now[i][0] != states[i][0]} == set(switched)
    assert all(now[i][0] is on for i, on in switched.items())


def test_a_scope_preview_refuses_what_the_change_refuses(api, ctx):
    before = _everything(ctx)
    api.post("/sources/nope/scope/preview", {"syncScope": True}, expect=404)
    for body in ({"syncScope": 5}, {"syncScope": "title eq"}):
        refused = api.post("/sources/local/scope/preview", body, expect=400)
        assert refused == api.patch("/sources/local", body, expect=400)
    # a body of the wrong shape: refused by both (the PATCH also names deleteGuard)
    for body in ({}, {"syncScope": True, "x": 1}):
        refused = api.post("/sources/local/scope/preview", body, expect=400)
        patched = api.patch("/sources/local", body, expect=400)
        assert refused["field"] == patched["field"] == "syncScope"
    assert _everything(ctx) == before


def test_the_local_source_scope_decides_no_existing_user(api):
    user = api.create_user("l@example.com")
    preview = api.post("/sources/local/scope/preview", {"syncScope": True}, expect=200)
    assert (preview["users"], preview["gain"]) == (0, 0)
    api.patch("/sources/local", {"syncScope": True}, expect=200)
    assert api.get(f"/users/{user['id']}")["syncToContact"] is False


# ------------------------------------------------------------------ explanation


def test_explanation_of_a_scope_filter_names_the_part_that_matched(api, ctx, scim_source):
    scim = scim_source("corp", 'title eq "Guide" or (title eq "Analyst" and active eq true)')
    base = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "active": True}
    analyst = scim.post("/Users", {**base, "userName": "a", "title": "Analyst"})
    chef = scim.post("/Users", {**base, "userName": "c", "title": "Chef"})
    before = _everything(ctx)

    said = api.get(f"/users/{analyst['id']}/explanation")
    assert _everything(ctx) == before
    assert said["syncToContact"] is True
    assert said["decidedBy"]["by"] == "scope" and said["decidedBy"]["value"] is True
    assert said["decidedBy"]["matched"] == ['title eq "Analyst"', "active eq true"]
    assert said["link"]["state"] == "active" and said["link"]["differences"] == []
    assert any('title eq "Analyst" and active eq true' in line for line in said["summary"])

    not_said = api.get(f"/users/{chef['id']}/explanation")
    assert not_said["syncToContact"] is False and not_said["link"]["state"] == "none"
    assert not_said["decidedBy"]["failed"] == ['title eq "Guide"', 'title eq "Analyst"']
    assert "did not match" in not_said["summary"][1]


def test_explanation_of_an_admin_override_and_of_the_idp_attribute(api, scim_source):
    scim = scim_source("entra", False)
    base = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", CONNECTOR_USER]}
    chosen = scim.post("/Users", {**base, "userName": "x", CONNECTOR_USER: {"syncToContact": True}})
    said = api.get(f"/users/{chosen['id']}/explanation")
    assert said["decidedBy"] == {"by": "identityProvider", "value": True}
    assert "identity provider" in said["summary"][1]

    api.patch(f"/users/{chosen['id']}", {"syncToContact": False}, expect=200)
    said = api.get(f"/users/{chosen['id']}/explanation")
    assert said["decidedBy"] == {"by": "admin", "reason": "override"}
    assert said["syncToContact"] is False and said["link"]["state"] == "paused"
    assert "paused" in " ".join(said["summary"])

    local = api.create_user("l@example.com")
    assert api.get(f"/users/{local['id']}/explanation")["decidedBy"] == {
        "by": "admin",
        "reason": "local",
    }
    api.get("/users/nobody/explanation", expect=404)


def test_explanation_of_a_stale_contact_lists_the_fields_that_differ(api):
    user = api.create_user(
        "s@example.com", sync=True, name={"givenName": "Ann", "familyName": "Lee"}, title="Chef"
    )
    old = api.get(f"/users/{user['id']}/explanation")["link"]
    assert (old["stale"], old["differences"]) == (False, [])
    saved = api.put(
        "/mapping", {"rows": [_row("name.givenName", "lastName"), _row("title", "jobTitle")]}
    )
    said = api.get(f"/users/{user['id']}/explanation")
    link = said["link"]
    assert link["stale"] is True
    assert (link["mappingVersion"], link["currentMappingVersion"]) == (
        old["mappingVersion"],
        saved["version"],
    )
    differing = {d["field"]: (d["current"], d["wouldBe"]) for d in link["differences"]}
    assert differing["lastName"] == ("Lee", "Ann")
    assert differing["firstName"] == ("Ann", None)
    assert "jobTitle" not in differing  # the same value either way
    assert any("version" in line and "current" in line for line in said["summary"])
