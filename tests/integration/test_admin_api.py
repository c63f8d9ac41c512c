"""The admin REST API's edges: auth, bad input, users, contacts, vCard, jobs, health."""

from __future__ import annotations

from sqlalchemy import create_engine

from connector.services import jobs


def test_requests_without_a_valid_admin_token_get_401(app, ctx):
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/users", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"] == "unauthorized"


def test_scim_source_token_is_not_an_admin_token(app, ctx):
    from connector.services import tokens

    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="okta", kind=tokens.SCIM, source_name="okta")
    )
    response = app.test_client().get("/api/v1/users", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_tokens_are_stored_hashed(ctx, admin_token):
    from sqlalchemy import select

    from connector.db.models import ApiToken

    stored = ctx.run(lambda s: [t.token_hash for t in s.scalars(select(ApiToken))])
    assert stored and admin_token not in stored
    assert all(len(h) == 64 for h in stored)


def test_healthz_answers_200_then_503_when_the_database_is_gone(app, ctx):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    working = ctx.db.engine
    ctx.db.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        response = client.get("/healthz")
    finally:
        ctx.db.engine.dispose()
        ctx.db.engine = working
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_malformed_json_and_wrong_types_get_400_naming_the_problem(api):
    response = api.client.post(
        "/api/v1/users", data="{not json", headers=api.headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("the body is not valid JSON")
    wrong = api.post("/users", {"userName": "a", "active": "maybe"}, expect=400)
    assert "active" in wrong["message"]
    unknown = api.post("/users", {"userName": "a", "shoeSize": 44}, expect=400)
    assert "shoeSize" in unknown["message"]
    missing = api.post("/users", {"displayName": "No Name"}, expect=400)
    assert "userName" in missing["message"]
    bad_sync = api.post("/users", {"userName": "a", "syncToContact": "yes"}, expect=400)
    assert bad_sync["field"] == "syncToContact"
    contact = api.post("/contacts", {"fields": {"shoeSize": "44"}}, expect=400)
    assert contact["field"] == "shoeSize"
    assert api.post("/contacts", {"firstName": "x"}, expect=400)["field"] == "firstName"
    assert api.get("/users")["total"] == 0
    assert api.get("/contacts")["total"] == 0


def test_user_name_is_unique_case_insensitively(api):
    api.create_user("Alice@Example.com")
    clash = api.post("/users", {"userName": "alice@example.COM"}, expect=409)
    assert "already taken" in clash["message"]
    assert api.get("/users")["total"] == 1


def test_renaming_to_a_taken_user_name_is_a_conflict(api):
    api.create_user("Alice@Example.com")
    bob = api.create_user("bob@example.com")
    clash = api.patch(f"/users/{bob['id']}", {"userName": "ALICE@example.com"}, expect=409)
    assert (clash["field"], clash["message"]) == (
        "userName",
        "userName 'ALICE@example.com' is already taken",
    )
    assert api.get(f"/users/{bob['id']}")["userName"] == "bob@example.com"


def test_local_user_merge_patch_and_source_owned_attributes(api, ctx, barbara):
    from connector.services import sources, users

    local = api.create_user(**barbara)
    patched = api.patch(
        f"/users/{local['id']}", {"nickName": "Babs", "displayName": None}, expect=200
    )
    assert patched["nickName"] == "Babs" and "displayName" not in patched
    assert patched["meta"]["version"] != local["meta"]["version"]

    def create_ldap_user(session):
        source = sources.get_or_create(session, "corp", "ldap")
        return users.create(session, "ldap:corp", source, {"userName": "dir.user"}).id

    ldap_id = ctx.run(create_ldap_user)
    refused = api.patch(f"/users/{ldap_id}", {"title": "X"}, expect=409)
    assert "corp" in refused["message"]
    allowed = api.patch(f"/users/{ldap_id}", {"syncToContact": True}, expect=200)
    assert allowed["source"] == "corp" and allowed["contactId"]
    api.get("/users/does-not-exist", expect=404)


def test_user_list_filter_source_and_paging(api, ctx):
    from connector.services import sources, users

    for i in range(5):
        api.create_user(f"user{i}@example.com", name={"givenName": "Ann" if i % 2 else "Bob"})
    ctx.run(
        lambda s: users.create(
            s, "ldap:corp", sources.get_or_create(s, "corp", "ldap"), {"userName": "zed"}
        )
    )
    everyone = api.get("/users")
    assert everyone["total"] == 6
    page = api.get("/users", startIndex=2, count=2)
    assert [u["userName"] for u in page["items"]] == ["user1@example.com", "user2@example.com"]
    assert page["total"] == 6
    assert api.get("/users", source="corp")["total"] == 1
    assert api.get("/users", source="local")["total"] == 5
    by_name = api.get("/users", filter='userName eq "USER3@example.com"')
    assert [u["userName"] for u in by_name["items"]] == ["user3@example.com"]
    annes = api.get("/users", filter='name.givenName eq "ann" and userName sw "user"')
    assert annes["total"] == 2
    escaped = api.get("/users", filter='userName co "%"')
    assert escaped["total"] == 0
    bad = api.get("/users", filter="userName eq", expect=400)
    assert bad["field"] == "filter"


def test_contact_put_replaces_patch_merges_manual_delete(api):
    created = api.post(
        "/contacts", {"fields": {"firstName": "Ann", "lastName": "Lee", "city": "Oslo"}}, expect=201
    )
    path = f"/contacts/{created['id']}"
    merged = api.patch(path, {"fields": {"city": "Bergen"}}, expect=200)
    assert merged["fields"] == {"firstName": "Ann", "lastName": "Lee", "city": "Bergen"}
    replaced = api.put(path, {"fields": {"lastName": "Lee"}}, expect=200)
    assert replaced["fields"] == {"lastName": "Lee"}
    api.delete(path, expect=204)
    api.get(path, expect=404)


def test_vcard_export_of_one_and_all(api, barbara):
    user = api.create_user(**barbara, sync=True)
    api.post("/contacts", {"fields": {"firstName": "Åsa", "lastName": "Öberg"}}, expect=201)
    response = api.client.get(f"/api/v1/contacts/{user['contactId']}.vcf", headers=api.headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/vcard")
    card = response.get_data(as_text=True)
    assert card.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert "N:Jensen;Barbara;Jane;Dr.;III\r\n" in card
    assert "EMAIL;TYPE=work:bjensen@example.com\r\n" in card
    every = api.client.get("/api/v1/contacts.vcf", headers=api.headers).get_data(as_text=True)
    assert every.count("BEGIN:VCARD") == 2
    assert "FN:Åsa Öberg" in every
    missing = api.client.get("/api/v1/contacts/nope.vcf", headers=api.headers)
    assert missing.status_code == 404


def test_resync_job_resumes_after_a_crash(ctx, api):
    for i in range(7):
        api.create_user(f"r{i}@example.com", sync=True, name={"givenName": f"G{i}"})
    api.put("/mapping", {"rows": [{"userField": "name.givenName", "contactField": "firstName"}]})
    job_id = ctx.run(lambda s: jobs.start(s, "test", jobs.RESYNC).id)
    # This test is the worker (the fixture's runner must not claim the job).
    lease = jobs.Lease("test", 600)
    assert ctx.run(lambda s: jobs.claim(s, lease, job_id)) == job_id
    # One batch commits, then the process "dies": the job is left running.
    ctx.run(lambda s: jobs._resync_batch(s, jobs.get(s, job_id), 3))
    halfway = ctx.run(lambda s: jobs.representation(jobs.get(s, job_id)))
    assert (halfway["state"], halfway["done"]) == ("running", 3)
    assert ctx.run(jobs.unfinished) == [job_id]
    finished = jobs.run(ctx, job_id, lease=lease)
    assert (finished.state, finished.done, finished.changed) == ("done", 7, 7)
    assert api.get("/mapping")["staleContacts"] == 0


def test_only_one_resync_job_at_a_time(ctx, api):
    first = ctx.run(lambda s: jobs.start(s, "test", jobs.RESYNC).id)
    second = ctx.run(lambda s: jobs.start(s, "test", jobs.RESYNC).id)
    assert first == second


def test_audit_is_paged_and_filtered(api):
    for i in range(4):
        api.post("/contacts", {"fields": {"lastName": f"L{i}"}}, expect=201)
    page = api.get("/audit", objectType="contact", count=2)
    assert page["total"] == 4 and len(page["items"]) == 2
    assert page["items"][0]["id"] > page["items"][1]["id"]
    assert api.get("/audit", action="contact.create", actor="admin:tester")["total"] == 4
    assert api.get("/audit", actor="someone-else")["total"] == 0


def test_oversized_body_gets_413_and_nothing_is_written(api, settings):
    padding = "x" * (settings.server.max_body_bytes + 1)
    response = api.client.post("/api/v1/users", json={"userName": padding}, headers=api.headers)
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert api.get("/users")["total"] == 0


def test_secrets_are_masked_in_logs_and_absent_from_the_audit(api, admin_token, caplog):
    import logging

    from connector.logs import redact

    assert admin_token not in redact(f"GET /x Authorization: Bearer {admin_token}")
    assert admin_token not in redact(f"token={admin_token}")
    with caplog.at_level(logging.DEBUG):
        api.get("/settings")
    assert admin_token not in caplog.text
    assert admin_token not in str(api.get("/audit", count=1000))
