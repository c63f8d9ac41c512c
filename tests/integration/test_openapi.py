"""The OpenAPI description of /api/v1 stays true: every documented operation is called
with real requests, and every answer is checked against the description."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from connector import startup
from connector.ldap import run_service
from connector.services import tokens
from connector.web.app import create_app
from connector.web.openapi import description
from tests.integration.ldap_support import (
    PASSWORD_ENV,
    Directory,
    source_config,
    with_sources,
)
from tests.support.slapd import SlapdServer

SPEC = description()
METHODS = ("get", "put", "post", "patch", "delete")


def documented_operations() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in SPEC["paths"].items()
        for method in METHODS
        if method in item
    }


def flask_path(rule: str) -> str:
    """``/api/v1/tokens/<int:token_id>`` → ``/tokens/{token_id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.removeprefix("/api/v1"))


def test_the_description_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1")
    validate_spec(SPEC)


def test_every_route_under_api_v1_is_described(app: Flask) -> None:
    routes = {
        (method.lower(), flask_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods or ()
        if method.lower() in METHODS
    }
    missing = routes - documented_operations()
    assert not missing, f"routes of the app missing from the OpenAPI description: {sorted(missing)}"
    # And nothing is described that the app does not have (the vCard of one contact
    # is the /contacts/{contact_id} route with a .vcf suffix).
    assert documented_operations() - routes == set()


class Checked:
    """Calls the admin API and validates each answer against the description."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.called: set[tuple[str, str]] = set()

    def __call__(
        self,
        method: str,
        template: str,
        expect: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        **params: Any,
    ) -> Any:
        path = template.format(**params)
        response = self.client.open(
            f"/api/v1{path}",
            method=method.upper(),
            json=body,
            headers=self.headers if headers is None else headers,
            query_string=query,
        )
        assert response.status_code == expect, (method, path, response.get_data(as_text=True))
        operation = SPEC["paths"][template.split("?")[0]][method]
        documented = operation["responses"].get(str(expect))
        assert documented is not None, (
            f"{method.upper()} {template} answered {expect}, undocumented"
        )
        content = documented.get("content")
        if content is None:
            assert response.get_data() == b""
        else:
            media = response.mimetype
            assert media in content, (method, template, media, list(content))
            if media == "application/json":
                schema = {**content[media]["schema"], "components": SPEC["components"]}
                OAS31Validator(schema).validate(response.get_json())
        self.called.add((method, template))
        return response.get_json() if response.is_json else response.get_data(as_text=True)


@pytest.fixture
def ldap_app(
    settings: Any, slapd: SlapdServer, people_dn: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Checked, Directory]]:
    monkeypatch.setenv(PASSWORD_ENV, slapd.admin_password)
    directory = Directory(slapd, people_dn)
    cfg = source_config(slapd, directory.base, poll="off", reconcile="off")
    started = startup.start(with_sources(settings, cfg), upgrade=False)
    token = started.ctx.run(lambda s: tokens.create(s, "test", name="t", kind=tokens.ADMIN))[1]
    yield Checked(create_app(started.ctx, started.runner).test_client(), token), directory
    started.runner.shutdown()
    started.ctx.db.dispose()


def wait(call: Checked, template: str, expect: int, done: Any, **params: Any) -> Any:
    deadline = time.monotonic() + 30
    while True:
        answer = call("get", template, expect, **params)
        if done(answer):
            return answer
        assert time.monotonic() < deadline, answer
        time.sleep(0.05)


def scim_user(call: Checked, secret: str, user_name: str) -> str:
    """A user of a SCIM source, created as its identity provider does; its id."""
    response = call.client.post(
        "/scim/v2/Users",
        data=json.dumps({"userName": user_name, "externalId": user_name}),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.get_json()["id"])


def scim_delete(call: Checked, secret: str, user_id: str) -> None:
    response = call.client.delete(
        f"/scim/v2/Users/{user_id}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 204, response.get_data(as_text=True)


def test_every_documented_operation_answers_as_described(
    ldap_app: tuple[Checked, Directory],
) -> None:
    call, directory = ldap_app
    directory.add("openapi1")

    call("get", "/openapi.json", 200, headers={})
    call("get", "/fields", 200)
    call("get", "/fields", 401, headers={})
    call("get", "/fields", 401, headers={"Authorization": "Bearer wrong"})

    mapping = call("get", "/mapping", 200)
    call("put", "/mapping", 200, {"rows": mapping["rows"][:2], "version": mapping["version"]})
    call("put", "/mapping", 409, {"rows": mapping["rows"][:3], "version": mapping["version"]})
    call("put", "/mapping", 400, {"rows": [{"userField": "nope", "contactField": "title"}]})
    call("post", "/mapping/preview", 200, {"rows": mapping["rows"][:2]}, query={"ids": "true"})
    call("post", "/mapping/preview", 409, {"rows": [], "version": mapping["version"] - 1})
    call("post", "/mapping/preview", 400, {"rows": [{"userField": "x", "contactField": "y"}]})
    call("post", "/mapping/preview", 413, {"rows": [{"userField": "x" * 2_000_000}]})
    call("delete", "/mapping", 200)
    call("post", "/mapping/reset", 200)

    call("get", "/settings", 200)
    call("patch", "/settings", 200, {"onDeactivate": "keep"})
    call("patch", "/settings", 400, {"direction": "sideways"})

    user = call("post", "/users", 201, {"userName": "o@example.com", "syncToContact": True})
    call("post", "/users", 409, {"userName": "O@example.com"})
    call("post", "/users", 400, {"userName": 5})
    call("post", "/users", 413, {"userName": "x" * 2_000_000})
    call("get", "/users", 200, query={"filter": 'userName sw "o"', "count": 5})
    call("get", "/users", 400, query={"filter": "userName zz 1"})
    call("get", "/users/{user_id}", 200, user_id=user["id"])
    call("get", "/users/{user_id}", 404, user_id="missing")
    call("patch", "/users/{user_id}", 200, {"title": "Guide"}, user_id=user["id"])
    call("patch", "/users/{user_id}", 404, {"title": "x"}, user_id="missing")
    call("get", "/users/{user_id}/explanation", 200, user_id=user["id"])
    call("get", "/users/{user_id}/explanation", 404, user_id="missing")
    call("post", "/users/sync", 200, {"ids": [user["id"]]})
    sync_all = call("post", "/users/sync", 202, {"all": True})
    call("post", "/users/sync", 400, {"ids": "x"})

    contact = call("post", "/contacts", 201, {"fields": {"firstName": "Ann"}})
    call("post", "/contacts", 400, {"fields": {"nope": "x"}})
    call("get", "/contacts", 200, query={"q": "ann", "managed": "false"})
    call("get", "/contacts", 400, query={"managed": "perhaps"})
    call("get", "/contacts/{contact_id}", 200, contact_id=contact["id"])
    call("get", "/contacts/{contact_id}", 200, contact_id=contact["id"] + ".vcf")
    call("get", "/contacts/{contact_id}", 404, contact_id="missing")
    call(
        "put",
        "/contacts/{contact_id}",
        200,
        {"fields": {"lastName": "B"}},
        contact_id=contact["id"],
    )
    call(
        "patch", "/contacts/{contact_id}", 200, {"fields": {"title": "T"}}, contact_id=contact["id"]
    )
    managed = call("get", "/users/{user_id}", 200, user_id=user["id"])["contactId"]
    call("patch", "/contacts/{contact_id}", 409, {"fields": {"title": "T"}}, contact_id=managed)
    call("delete", "/contacts/{contact_id}", 409, contact_id=managed)
    call("delete", "/contacts/{contact_id}", 204, contact_id=contact["id"])
    call("delete", "/contacts/{contact_id}", 404, contact_id=contact["id"])
    call("get", "/contacts.vcf", 200)

    job = call("post", "/contacts/resync", 202)
    wait(call, "/jobs/{job_id}", 200, lambda j: j["state"] == "done", job_id=job["id"])
    wait(call, "/jobs/{job_id}", 200, lambda j: j["state"] == "done", job_id=sync_all["id"])
    call("get", "/jobs/{job_id}", 404, job_id="missing")

    call("get", "/sources", 200)
    call("patch", "/sources/{name}", 200, {"syncScope": "active eq true"}, name="local")
    call("patch", "/sources/{name}", 400, {"syncScope": 5}, name="local")
    call("patch", "/sources/{name}", 404, {"syncScope": True}, name="nope")
    call("post", "/sources/{name}/scope/preview", 200, {"syncScope": "title pr"}, name="corp")
    call("post", "/sources/{name}/scope/preview", 400, {"syncScope": 5}, name="corp")
    call("post", "/sources/{name}/scope/preview", 404, {"syncScope": True}, name="nope")
    call("post", "/sources/{name}/scope/preview", 413, {"syncScope": "x" * 2_000_000}, name="corp")

    def finished(runs: dict[str, Any]) -> bool:
        return runs["items"][0]["state"] not in run_service.UNFINISHED

    wait(call, "/sources/{name}/runs", 200, finished, name="corp")  # the poll /users/sync began
    run = call("post", "/sources/{name}/sync", 202, {"full": True}, name="corp")
    call("post", "/sources/{name}/sync", 400, {"full": "yes"}, name="corp")
    call("post", "/sources/{name}/sync", 404, {}, name="nope")
    wait(call, "/sources/{name}/runs", 200, finished, name="corp")
    call("get", "/sources", 200)  # with the LDAP source's last run
    call("get", "/sources/{name}/runs", 404, name="nope")
    call("post", "/sources/{name}/runs/{run_id}/confirm", 409, name="corp", run_id=run["id"])
    call("post", "/sources/{name}/runs/{run_id}/confirm", 404, name="corp", run_id=999999)

    call("get", "/audit", 200, query={"objectType": "user", "count": 3})
    call("get", "/audit", 400, query={"count": "many"})

    created = call("post", "/tokens", 201, {"kind": "scim", "source": "idp", "name": "idp"})
    call("post", "/tokens", 409, {"kind": "scim", "source": "idp", "name": "idp"})
    call("post", "/tokens", 400, {"kind": "scim", "source": "bad name!", "name": "x"})
    call("post", "/tokens", 201, {"kind": "admin", "name": "second"})
    call("post", "/tokens", 400, {"kind": "scim"})
    call("get", "/tokens", 200, query={"kind": "scim"})

    # Soft deletion and the SCIM deletion guard (source idp, made by the token above).
    guard = {"deleteGuard": {"maxCount": 0, "maxPercent": 0, "window": "1h"}}
    call("patch", "/sources/{name}", 200, guard, name="idp")
    call("patch", "/sources/{name}", 400, {"deleteGuard": {"window": "x"}}, name="idp")
    idp_user = scim_user(call, created["secret"], "guarded")
    scim_delete(call, created["secret"], idp_user)  # held: past the guard
    call("get", "/sources", 200)  # with the SCIM source's guard, blocked
    call("post", "/sources/{name}/held/reject", 200, name="idp")
    call("post", "/sources/{name}/held/reject", 409, name="idp")
    call("post", "/sources/{name}/held/reject", 404, name="nope")
    scim_delete(call, created["secret"], idp_user)
    call("post", "/sources/{name}/held/confirm", 200, name="idp")
    call("post", "/sources/{name}/held/confirm", 409, name="idp")
    call("post", "/sources/{name}/held/confirm", 404, name="nope")
    pending = call("get", "/deleted", 200, query={"source": "idp", "kind": "user", "count": 5})
    call("get", "/deleted", 400, query={"kind": "group"})
    tomb = pending["items"][0]["id"]
    call("post", "/deleted/{deleted_id}/restore", 200, deleted_id=tomb)
    call("post", "/deleted/{deleted_id}/restore", 404, deleted_id=tomb)
    call("delete", "/users/{user_id}", 204, user_id=idp_user)  # an admin's: suppressed
    suppressed = call("get", "/deleted/suppressions", 200, query={"source": "idp"})
    remembered = suppressed["items"][0]["id"]
    call("delete", "/deleted/suppressions/{suppression_id}", 204, suppression_id=remembered)
    call("delete", "/deleted/suppressions/{suppression_id}", 404, suppression_id=remembered)
    call("get", "/tokens", 400, query={"kind": "other"})
    call("delete", "/tokens/{token_id}", 204, token_id=created["id"])
    call("delete", "/tokens/{token_id}", 404, token_id=999999)

    call("delete", "/users/{user_id}", 204, user_id=user["id"])
    call("delete", "/users/{user_id}", 404, user_id=user["id"])

    not_called = documented_operations() - call.called
    assert not not_called, f"documented but never called: {sorted(not_called)}"
