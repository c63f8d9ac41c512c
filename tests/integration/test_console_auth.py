"""Console sign-in: accounts, session cookie, CSRF, lockout, and session vs bearer on the API."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.db.models import AdminAccount, AuditEvent, utcnow
from connector.services import admins

PASSWORD = "correct horse battery"


@pytest.fixture
def alice(ctx):
    ctx.run(lambda s: admins.create(s, "test", "alice", PASSWORD))
    return "alice"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def sign_in(client, name="alice", password=PASSWORD, next_url=None):
    page = client.get("/admin/sign-in")
    form = {"name": name, "password": password, "csrf_token": _csrf(page.get_data(True))}
    if next_url:
        form["next"] = next_url
    return client.post("/admin/sign-in", data=form)


def test_passwords_are_stored_with_scrypt(ctx, alice):
    stored = ctx.run(lambda s: s.scalars(select(AdminAccount.password_hash)).one())
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_admin_names_are_unique_and_passwords_not_too_short(ctx, alice):
    from connector.errors import Conflict, InvalidInput

    with pytest.raises(Conflict):
        ctx.run(lambda s: admins.create(s, "test", "alice", "another password"))
    with pytest.raises(InvalidInput):
        ctx.run(lambda s: admins.create(s, "test", "bob", "short"))


def test_console_pages_need_a_session(app, alice):
    client = app.test_client()
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "/admin/sign-in?next=/admin/users" in response.headers["Location"]
    assert client.get("/admin/").status_code == 302


def test_sign_in_sets_a_hardened_cookie_and_opens_the_console(app, alice):
    client = app.test_client()
    response = sign_in(client, next_url="/admin/contacts")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/contacts")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/admin/contacts")
    assert page.status_code == 200
    assert "Signed in as" in page.get_data(True)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_cookie_is_secure_behind_tls(app, alice):
    client = app.test_client()
    page = client.get("/admin/sign-in", base_url="https://console.example")
    response = client.post(
        "/admin/sign-in",
        base_url="https://console.example",
        data={"name": "alice", "password": PASSWORD, "csrf_token": _csrf(page.get_data(True))},
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]
    forwarded = app.test_client()
    page = forwarded.get("/admin/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in page.headers["Set-Cookie"]


def test_redirect_after_sign_in_stays_in_the_console(app, alice):
    for target in ("https://evil.example/", "//evil.example/admin/", "/api/v1/users"):
        response = sign_in(app.test_client(), next_url=target)
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/admin/users"), target


def test_wrong_password_and_unknown_name_get_the_same_answer(app, ctx, alice):
    wrong = sign_in(app.test_client(), password="nope nope")
    unknown = sign_in(app.test_client(), name="mallory")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password." in wrong.get_data(True)
    assert "Wrong name or password." in unknown.get_data(True)
    outcomes = ctx.run(
        lambda s: [
            e.outcome
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "admin.signin"))
        ]
    )
    assert outcomes == ["failed", "failed"]


def test_sign_in_form_needs_its_csrf_token(app, alice):
    client = app.test_client()
    client.get("/admin/sign-in")
    response = client.post("/admin/sign-in", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/users").status_code == 302


def test_lockout_after_repeated_failures(app, ctx, alice, monkeypatch):
    monkeypatch.setattr(admins, "LOCKOUT_THRESHOLD", 3)
    client = app.test_client()
    for _ in range(2):
        assert sign_in(client, password="wrong password").status_code == 401
    third = sign_in(client, password="wrong password")
    assert third.status_code == 401 and int(third.headers["Retry-After"]) == 30
    # Locked: even the right password is refused without being checked.
    locked = sign_in(client)
    assert locked.status_code == 429
    assert "locked" in locked.get_data(True)
    assert 0 < int(locked.headers["Retry-After"]) <= 30
    # Once the delay has passed, the right password works and resets the count.
    ctx.run(
        lambda s: setattr(
            admins.by_name(s, "alice"), "locked_until", utcnow() - timedelta(seconds=1)
        )
    )
    assert sign_in(client).status_code == 303
    account = ctx.run(lambda s: admins.by_name(s, "alice"))
    assert account.failed_attempts == 0 and account.locked_until is None


def test_lock_delay_doubles_up_to_a_limit():
    assert admins.lock_delay(admins.LOCKOUT_THRESHOLD - 1) == timedelta(0)
    assert admins.lock_delay(admins.LOCKOUT_THRESHOLD) == admins.LOCKOUT_BASE
    assert admins.lock_delay(admins.LOCKOUT_THRESHOLD + 1) == admins.LOCKOUT_BASE * 2
    assert admins.lock_delay(admins.LOCKOUT_THRESHOLD + 20) == admins.LOCKOUT_MAX


def test_session_works_on_the_api_and_writes_need_the_csrf_header(app, ctx, alice):
    client = app.test_client()
    sign_in(client)
    token = _csrf(client.get("/admin/users").get_data(True))
    assert client.get("/api/v1/users").status_code == 200
    body = {"userName": "carol@example.com"}
    refused = client.post("/api/v1/users", json=body)
    assert refused.status_code == 403 and refused.get_json()["error"] == "csrf"
    wrong = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": "x" + token})
    assert wrong.status_code == 403
    assert client.get("/api/v1/users").get_json()["total"] == 0
    created = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201
    actors = ctx.run(
        lambda s: s.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "user.create")
        ).all()
    )
    assert actors == ["console:alice"]


def test_bearer_tokens_still_work_and_need_no_csrf(api):
    assert api.post("/users", {"userName": "dave@example.com"}, expect=201)["userName"]


def test_a_bad_bearer_token_is_not_rescued_by_a_session(app, alice):
    client = app.test_client()
    sign_in(client)
    response = client.get("/api/v1/users", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_sign_out_ends_the_session(app, ctx, alice):
    client = app.test_client()
    sign_in(client)
    token = _csrf(client.get("/admin/users").get_data(True))
    # Without the token sign-out does nothing (no forced sign-out from other sites).
    client.post("/admin/sign-out")
    assert client.get("/api/v1/users").status_code == 200
    response = client.post("/admin/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/api/v1/users").status_code == 401
    assert client.get("/admin/users").status_code == 302
    actions = ctx.run(lambda s: s.scalars(select(AuditEvent.action)).all())
    assert "admin.signout" in actions


def test_the_secret_key_is_kept_in_the_data_dir(app, settings):
    key_file = settings.data_dir / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert app.secret_key == key_file.read_text().strip()


def test_token_api_lists_creates_and_revokes(api):
    created = api.post(
        "/tokens", {"kind": "scim", "source": "okta", "name": "okta-prod"}, expect=201
    )
    assert created["secret"].startswith("lsc_")
    listed = api.get("/tokens", kind="scim")["items"]
    assert [(t["name"], t["source"], t["lastUsedAt"]) for t in listed] == [
        ("okta-prod", "okta", None)
    ]
    assert "secret" not in listed[0]
    scim = api.client.get(
        "/scim/v2/Users", headers={"Authorization": f"Bearer {created['secret']}"}
    )
    assert scim.status_code == 200
    assert api.get("/tokens", kind="scim")["items"][0]["lastUsedAt"] is not None
    api.delete(f"/tokens/{created['id']}", expect=204)
    revoked = [t for t in api.get("/tokens")["items"] if t["id"] == created["id"]]
    assert revoked[0]["revokedAt"] is not None
    again = api.client.get(
        "/scim/v2/Users", headers={"Authorization": f"Bearer {created['secret']}"}
    )
    assert again.status_code == 401
    assert api.post("/tokens", {"kind": "scim"}, expect=400)["field"] == "source"
    assert api.delete("/tokens/9999", expect=404)["error"] == "not_found"


def test_a_source_name_that_cannot_stand_in_a_path_is_refused_and_nothing_is_stored(api):
    for name in ("bad name!", "okta/prod", "-okta", "o" * 65):
        refused = api.post("/tokens", {"kind": "scim", "source": name, "name": "t"}, expect=400)
        assert refused["field"] == "source" and "is not valid" in refused["message"]
    assert api.get("/tokens", kind="scim")["items"] == []
    assert "bad name!" not in {s["name"] for s in api.get("/sources")["items"]}
    api.post("/tokens", {"kind": "scim", "source": "okta.prod_2-eu", "name": "t"}, expect=201)


def test_token_names_are_unique_within_a_source_and_among_admin_tokens(api):
    first = api.post("/tokens", {"kind": "scim", "source": "okta", "name": "prod"}, expect=201)
    twin = api.post("/tokens", {"kind": "scim", "source": "okta", "name": "prod"}, expect=409)
    assert twin["error"] == "conflict" and twin["field"] == "name"
    assert "'prod' already exists for source 'okta'" in twin["message"]
    api.post("/tokens", {"kind": "scim", "source": "entra", "name": "prod"}, expect=201)
    admin_twin = api.post("/tokens", {"kind": "admin", "name": "tester"}, expect=409)
    assert "the admin tokens" in admin_twin["message"]
    assert [t["name"] for t in api.get("/tokens", kind="scim")["items"]] == ["prod", "prod"]
    # A revoked token's name may be given again.
    api.delete(f"/tokens/{first['id']}", expect=204)
    api.post("/tokens", {"kind": "scim", "source": "okta", "name": "prod"}, expect=201)


def test_cli_creates_an_admin_from_stdin(tmp_path, database_url, settings):
    from tests.support.live_server import server_env

    env = server_env(tmp_path, database_url=database_url)
    done = subprocess.run(
        [sys.executable, "-m", "connector.cli", "admin", "create", "erin", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    short = subprocess.run(
        [sys.executable, "-m", "connector.cli", "admin", "create", "frank", "--password-stdin"],
        input="short\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert short.returncode == 1 and "at least" in short.stderr


@pytest.mark.parametrize(
    "path", ["users", "synchronized-users", "contacts", "sources", "recently-deleted", "audit"]
)
def test_every_page_renders_for_a_signed_in_admin(app, alice, path):
    client = app.test_client()
    sign_in(client)
    page = client.get(f"/admin/{path}")
    assert page.status_code == 200
    html = page.get_data(True)
    assert f'href="/admin/{path}" aria-current="page"' in html
    assert 'type="module"' in html and "https://" not in html  # nothing from a CDN
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/admin/nowhere").status_code == 404


def test_the_audit_page_offers_every_action_the_server_records(app, alice):
    from connector.services import audit

    client = app.test_client()
    sign_in(client)
    html = client.get("/admin/audit").get_data(True)
    datalist = re.search(r'<datalist id="actions">(.*?)</datalist>', html, re.S)
    assert datalist, html
    offered = re.findall(r'<option value="([^"]+)">', datalist.group(1))
    assert offered == list(audit.ACTIONS)
    assert {"ldap.run", "ldap.confirm"} <= set(offered)


def test_static_files_and_the_vendored_chart_library_are_served(app):
    client = app.test_client()
    with client.get("/admin/static/console.js") as script:
        assert script.status_code == 200
        assert "javascript" in script.headers["Content-Type"]
    with client.get("/admin/static/vendor/uplot/uPlot.iife.min.js") as chart:
        assert chart.status_code == 200
    with client.get("/admin/static/vendor/uplot/LICENSE") as licence:
        assert "MIT License" in licence.get_data(True)


def test_a_secret_key_from_the_environment_must_be_strong(tmp_path, monkeypatch):
    from connector.config import ConfigError
    from connector.web.console.session import load_secret_key

    monkeypatch.setenv("CONNECTOR_SECRET_KEY", "CHANGE-ME-TO-64-HEX-CHARACTERS")
    with pytest.raises(ConfigError, match="CONNECTOR_SECRET_KEY"):
        load_secret_key(tmp_path)
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", "a" * 64)
    assert load_secret_key(tmp_path) == "a" * 64
    assert not (tmp_path / "secret_key").exists()
