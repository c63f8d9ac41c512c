"""What a SCIM request sends to the database: reads take no write lock, a token check
writes nothing on most requests, and writes send no statement their answer does not need.

Every statement the database receives is caught with an engine event: a GET,
a lookup, a page or a ``.search`` (with its token check) sends no INSERT,
UPDATE or DELETE, and on SQLite no ``BEGIN IMMEDIATE`` (the write lock) but a
plain BEGIN. A write still takes the lock up front. A token's last-used time
is written when it is older than tokens.LAST_USED_RESOLUTION, and only then.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from connector.db.models import ApiToken, UserEmail, utcnow
from connector.services import tokens
from connector.services.context import Context
from tests.integration.scim_client import ScimClient
from tests.integration.sent_statements import sent_statements

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")


@pytest.fixture
def scim(app: Any, ctx: Context) -> ScimClient:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    return ScimClient(app.test_client(), secret)


def statements(ctx: Context) -> AbstractContextManager[list[str]]:
    return sent_statements(ctx, lambda statement, _parameters: statement.strip())


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.upper().startswith(WRITES)]


def test_scim_reads_send_no_write_and_take_no_write_lock(scim, ctx):
    user = scim.post("/Users", {"schemas": [CORE_USER], "userName": "ada@example.com"})
    group = scim.post(
        "/Groups",
        {"schemas": [CORE_GROUP], "displayName": "Staff", "members": [{"value": user["id"]}]},
    )
    with statements(ctx) as seen:
        assert scim.get(f"/Users/{user['id']}")["userName"] == "ada@example.com"
        found = scim.get("/Users", filter='userName eq "ada@example.com"')
        assert found["totalResults"] == 1
        assert scim.get("/Users", startIndex=1, count=100)["totalResults"] == 1
        assert scim.get(f"/Groups/{group['id']}")["members"][0]["value"] == user["id"]
        assert scim.get("/Groups")["totalResults"] == 1
        scim.post("/Users/.search", {"filter": 'userName sw "ada"'}, expect=200)
    assert seen
    assert writes(seen) == []
    if ctx.db.dialect == "sqlite":
        # Six requests, each one read for the work: the token was checked by the
        # create just before and is taken as valid for tokens.VERIFIED_SECONDS.
        assert seen.count("BEGIN") == 6, seen
    assert not any("FROM api_tokens" in statement for statement in seen), seen


def test_a_write_still_takes_the_write_lock(scim, ctx):
    user = scim.post("/Users", {"schemas": [CORE_USER], "userName": "ada@example.com"})
    with statements(ctx) as seen:
        scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "A"}])
    assert any(s.startswith("UPDATE users") for s in seen)
    if ctx.db.dialect == "sqlite":
        assert "BEGIN IMMEDIATE" in seen


def last_used(ctx: Context) -> Any:
    return ctx.read(lambda s: s.scalar(select(ApiToken.last_used_at)))


def test_a_token_s_last_use_is_written_only_when_it_is_due(scim, ctx):
    assert last_used(ctx) is None
    scim.get("/Users")
    first = last_used(ctx)
    assert first is not None
    with statements(ctx) as seen:
        scim.get("/Users")
    assert writes(seen) == []
    assert last_used(ctx) == first
    stale = utcnow() - tokens.LAST_USED_RESOLUTION - timedelta(seconds=1)
    ctx.run(lambda s: s.execute(update(ApiToken).values(last_used_at=stale)))
    tokens.verified.forget()  # as when tokens.VERIFIED_SECONDS have passed
    scim.get("/Users")
    assert last_used(ctx) > stale + timedelta(seconds=1)


def test_a_revoked_token_is_refused_at_once_despite_the_verified_tokens(scim, ctx):
    scim.get("/Users")  # the token is now remembered as valid
    token_id = ctx.read(lambda s: s.scalar(select(ApiToken.id)))
    ctx.run(lambda s: tokens.revoke(s, "admin:test", token_id))
    scim.call("GET", "/Users", expect=401)


def test_a_revocation_by_another_process_holds_after_the_verified_seconds(scim, ctx, monkeypatch):
    """Another process's revocation does not clear this process's verified tokens;
    it holds once tokens.VERIFIED_SECONDS have passed."""
    scim.get("/Users")
    ctx.run(lambda s: s.execute(update(ApiToken).values(revoked_at=utcnow())))
    scim.call("GET", "/Users", expect=200)
    later = tokens.time.monotonic() + tokens.VERIFIED_SECONDS + 0.1
    monkeypatch.setattr(tokens.time, "monotonic", lambda: later)
    scim.call("GET", "/Users", expect=401)


def test_a_token_read_before_a_revocation_committed_is_not_remembered():
    verified = tokens.VerifiedTokens(60)
    caller = tokens.ScimCaller(tokens.Principal("scim", "idp", 1), "idp")
    generation = verified.generation
    verified.forget()  # a revocation commits while the token is being read
    verified.put("digest", caller, generation)
    assert verified.get("digest") is None
    verified.put("digest", caller, verified.generation)
    assert verified.get("digest") == caller


def test_a_create_reads_no_groups_links_or_mapping(scim, ctx):
    """A new user is in no group and, with its switch off, has no contact to write."""
    with statements(ctx) as seen:
        scim.post(
            "/Users",
            {
                "schemas": [CORE_USER],
                "userName": "ada@example.com",
                "externalId": "a1",
                "emails": [{"value": "ada@work.example"}],
            },
        )
    text = "\n".join(seen)
    assert "INSERT INTO users" in text
    assert "INSERT INTO user_emails" in text
    assert "INSERT INTO audit_events" in text
    for table in ("group_members", "contact_links", "mapping_versions", "settings"):
        assert f"FROM {table}" not in text, (table, seen)
    # userName and externalId are checked with one query.
    assert sum("FROM users" in s and "user_name_ci" in s for s in seen) == 1, seen


def test_a_create_without_external_id_checks_its_username_with_a_statement_built_once(scim, ctx):
    """One userName is looked up by equality (a statement built once), not an IN list
    compiled on every request; a taken userName is still refused."""
    scim.post("/Users", {"schemas": [CORE_USER], "userName": "ada@example.com"})
    with statements(ctx) as seen:
        scim.post("/Users", {"schemas": [CORE_USER], "userName": "grace@example.com"})
    checks = [s for s in seen if s.startswith("SELECT") and "user_name_ci" in s and "id" in s]
    assert any("users.user_name_ci = " in s for s in checks), seen
    assert not any("users.user_name_ci IN" in s for s in checks), seen
    scim.post("/Users", {"schemas": [CORE_USER], "userName": "ADA@example.com"}, expect=409)


def _ada(scim) -> dict[str, Any]:
    """A SCIM user with one e-mail address."""
    return scim.post(
        "/Users",
        {
            "schemas": [CORE_USER],
            "userName": "ada@example.com",
            "emails": [{"value": "ada@work.example"}],
        },
    )


def test_a_patch_that_keeps_the_keys_and_emails_checks_and_rewrites_neither(scim, ctx):
    user = _ada(scim)
    with statements(ctx) as seen:
        scim.patch(
            f"/Users/{user['id']}",
            [
                {"op": "replace", "path": "displayName", "value": "Ada"},
                {"op": "replace", "value": {"active": False}},
            ],
        )
    text = "\n".join(seen)
    assert "UPDATE users" in text
    assert "user_emails" not in text
    assert "users.user_name_ci IN" not in text and "users.user_name_ci =" not in text
    for table in ("mapping_versions", "settings"):
        assert f"FROM {table}" not in text, (table, seen)
    assert sum("FROM group_members" in s for s in seen) == 1, seen


def test_a_patch_of_the_emails_rewrites_them_and_of_the_username_checks_it(scim, ctx):
    user = _ada(scim)
    with statements(ctx) as seen:
        scim.patch(
            f"/Users/{user['id']}",
            [
                {"op": "replace", "path": "userName", "value": "ada2@example.com"},
                {"op": "replace", "path": "emails", "value": [{"value": "ada2@work.example"}]},
            ],
        )
    text = "\n".join(seen)
    assert "INSERT INTO user_emails" in text
    assert "users.user_name_ci" in text
    assert scim.get("/Users", filter='emails.value eq "ada2@work.example"')["totalResults"] == 1
    assert scim.get("/Users", filter='emails.value eq "ada@work.example"')["totalResults"] == 0


def test_a_delete_reads_the_link_once_and_leaves_no_email_rows(scim, ctx):
    user = _ada(scim)
    with statements(ctx) as seen:
        scim.delete(f"/Users/{user['id']}")
    assert sum("FROM contact_links" in s for s in seen) == 1, seen
    assert ctx.read(lambda s: s.scalars(select(UserEmail.id)).all()) == []
    assert scim.get("/Users", filter='emails.value eq "ada@work.example"')["totalResults"] == 0


def test_a_page_that_ends_the_selection_tells_the_total_without_a_count(scim, ctx):
    for name in ("ada", "grace", "linus"):
        scim.post("/Users", {"schemas": [CORE_USER], "userName": f"{name}@example.com"})

    def counts(**params: Any) -> tuple[int, int]:
        with statements(ctx) as seen:
            total = scim.get("/Users", **params)["totalResults"]
        return total, sum("count(*)" in s.lower() for s in seen)

    assert counts(filter='userName eq "ada@example.com"') == (1, 0)
    assert counts(filter='userName eq "nobody@example.com"') == (0, 0)
    assert counts(startIndex=3, count=2) == (3, 0)
    assert counts(count=2) == (3, 1)  # a full page: more may follow
    assert counts(startIndex=5, count=2) == (3, 1)  # past the end: counted
    assert counts(count=0) == (3, 1)


def test_an_admin_token_check_reads_and_writes_its_last_use_only_when_due(app, ctx):
    """The admin API's token check is a read (no write lock on SQLite); the last-used
    time is written on the first use and then only once it is due, as for SCIM."""
    _, secret = ctx.run(lambda s: tokens.create(s, "test", name="ops", kind=tokens.ADMIN))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/sources", headers=headers).status_code == 200
    first = last_used(ctx)
    assert first is not None
    with statements(ctx) as seen:
        assert client.get("/api/v1/sources", headers=headers).status_code == 200
    check = next(i for i, s in enumerate(seen) if "FROM api_tokens" in s)
    if ctx.db.dialect == "sqlite":  # the check's transaction is a read: a plain BEGIN
        begins = [s for s in seen[:check] if s.startswith("BEGIN")]
        assert begins == ["BEGIN"], seen
    assert not [s for s in writes(seen) if "api_tokens" in s], seen
    stale = utcnow() - tokens.LAST_USED_RESOLUTION - timedelta(seconds=1)
    ctx.run(lambda s: s.execute(update(ApiToken).values(last_used_at=stale)))
    with statements(ctx) as seen:
        assert client.get("/api/v1/sources", headers=headers).status_code == 200
    assert [s for s in writes(seen) if s.startswith("UPDATE api_tokens")], seen
    assert last_used(ctx) > stale + timedelta(seconds=1)
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/v1/sources", headers=bad).status_code == 401


def test_admin_reads_take_no_write_lock(app, ctx, scim):
    """Every GET of the admin API, the streamed vCard export included, runs in read
    transactions: on SQLite none waits for the write lock held by SCIM writes or jobs
    (and on PostgreSQL each is READ ONLY, so a write by mistake would fail)."""
    user = scim.post("/Users", {"schemas": [CORE_USER], "userName": "ada@example.com"})
    _, secret = ctx.run(lambda s: tokens.create(s, "test", name="ops", kind=tokens.ADMIN))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    contact = client.post(
        "/api/v1/contacts", json={"fields": {"firstName": "Grace"}}, headers=headers
    ).get_json()
    client.get("/api/v1/sources", headers=headers)  # the token's first use is written
    paths = [
        "/api/v1/mapping",
        "/api/v1/settings",
        "/api/v1/users",
        f"/api/v1/users/{user['id']}",
        "/api/v1/contacts",
        f"/api/v1/contacts/{contact['id']}",
        f"/api/v1/contacts/{contact['id']}.vcf",
        "/api/v1/contacts.vcf",
        "/api/v1/sources",
        "/api/v1/audit",
        "/api/v1/tokens",
        "/api/v1/deleted",
        "/api/v1/deleted/suppressions",
    ]
    for path in paths:
        with statements(ctx) as seen:
            response = client.get(path, headers=headers)
            response.get_data()  # a streamed answer reads while it is sent
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert writes(seen) == [], (path, seen)
        if ctx.db.dialect == "sqlite":
            assert "BEGIN" in seen, (path, seen)
