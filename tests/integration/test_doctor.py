"""``connector doctor``: stored values the input rules would refuse, reported by object.

The bad values are written into the tables directly, as a database written
before those rules may hold them. PostgreSQL never stored any of them (jsonb
and text refuse NUL and lone surrogates, varchar enforces its length), so
there the report of a well-used database is empty; SQLite stored them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import text

from connector.services import doctor
from connector.services.doctor import Finding
from scim.input_limits import text_problem


def _fill(api: Any) -> dict[str, Any]:
    """A few ordinary objects of every scanned kind."""
    users = [api.create_user(f"d{i}@example.com", sync=True, nickName=f"n{i}") for i in range(5)]
    api.put("/mapping", {"rows": api.get("/mapping")["rows"][:3]}, expect=200)
    api.patch("/settings", {"onDeactivate": "keep"}, expect=200)
    return {"users": users}


def _write(ctx: Any, sql: str, **params: Any) -> None:
    with ctx.db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_the_rule_names_nul_and_lone_surrogates():
    """The doctor reports with the input boundary's own rule."""
    assert doctor.text_problem is text_problem
    assert text_problem("plain Åsa 😀") is None
    assert text_problem("a\x00b") == "contains NUL (U+0000)"
    assert text_problem("nick\ud800") == "contains a lone surrogate (U+D800)"


def test_a_clean_database_has_no_findings(api, ctx):
    _fill(api)
    assert list(doctor.scan(ctx, batch=2)) == []


def test_stored_bad_values_are_reported_by_object_path_and_problem(api, ctx):
    if ctx.db.dialect == "postgresql":
        pytest.skip("PostgreSQL cannot hold these values (jsonb, text and varchar refuse them)")
    made = _fill(api)
    user = made["users"][3]  # in the second batch of 2
    resource = {
        **api.get(f"/users/{user['id']}"),
        "nickName": "nick\ud800",
        "emails": [{"value": "a\x00b@example.com"}],
    }
    _write(
        ctx, "UPDATE users SET resource = :r WHERE id = :id", r=json.dumps(resource), id=user["id"]
    )
    long_name = "g" * 300
    _write(
        ctx,
        "INSERT INTO groups (id, source_id, display_name, display_name_ci, version, created_at, "
        "updated_at) SELECT 'g1', id, :n, :n, 1, '2026-01-01', '2026-01-01' FROM sources LIMIT 1",
        n=long_name,
    )
    _write(
        ctx,
        "UPDATE contacts SET fields = :f WHERE id = :id",
        f=json.dumps({"firstName": "x\x00"}),
        id=user["contactId"],
    )
    _write(ctx, "UPDATE settings SET value = :v", v=json.dumps({"k\udfffey": 1}))
    found = list(doctor.scan(ctx, batch=2))
    assert (
        Finding(
            "user",
            user["id"],
            "resource.nickName",
            "contains a lone surrogate (U+D800)",
        )
        in found
    )
    assert Finding("user", user["id"], "resource.emails[0].value", "contains NUL (U+0000)") in found
    assert (
        Finding("group", "g1", "display_name", "300 characters, longer than the column's 255")
        in found
    )
    assert (
        Finding("contact", user["contactId"], "fields.firstName", "contains NUL (U+0000)") in found
    )
    [setting] = [f for f in found if f.object_type == "setting"]
    assert setting.path == "value.k\\udfffey"  # printable: the bad character escaped
    assert setting.problem.startswith("attribute name contains a lone surrogate (U+DFFF)")
    # two in the user, two in the group (display_name_ci too), one each in the others
    assert len(found) == 6
    # The command: one line per finding, exit 1.
    result = _doctor(ctx)
    assert result.returncode == 1, result.stderr
    assert f"user {user['id']}: resource.nickName: contains a lone surrogate" in result.stdout
    assert len(result.stdout.strip().splitlines()) == len(found) + 1


def test_the_command_exits_0_on_a_clean_database(api, ctx):
    _fill(api)
    result = _doctor(ctx)
    assert result.returncode == 0, result.stderr
    assert "no stored value would be refused" in result.stdout


def _doctor(ctx: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["CONNECTOR_DATABASE_URL"] = ctx.db.url
    env["CONNECTOR_DATA_DIR"] = str(ctx.settings.data_dir)
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
