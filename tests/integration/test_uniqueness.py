"""userName unique across sources (any case), externalId unique per source: the same
answer from every write path (one user, a batch of new users, a batch of changes).

Runs on SQLite and PostgreSQL (the ``database_url`` fixture is parametrised).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db.models import User
from connector.errors import Conflict
from connector.services import sources, users
from connector.services.context import Context

TAKEN_NAME = "userName 'ANN@example.org' is already taken"
TAKEN_KEY = "externalId 'k-ann' is already used in this source"


@pytest.fixture
def ann(ctx: Context) -> str:
    """Ann, of source "corp", with externalId k-ann."""

    def work(session: Session) -> str:
        corp = sources.get_or_create(session, "corp", "ldap")
        return users.create(
            session, "test", corp, {"userName": "ann@example.org", "externalId": "k-ann"}
        ).id

    return ctx.run(work)


def _conflict(ctx: Context, work: Any) -> Conflict:
    with pytest.raises(Conflict) as raised:
        ctx.run(work)
    return raised.value


def _names(ctx: Context) -> list[str]:
    return ctx.run(lambda s: sorted(s.scalars(select(User.user_name))))


def test_one_user_created(ctx: Context, ann: str) -> None:
    def create(source: str, resource: dict[str, Any]) -> Any:
        return lambda s: users.create(s, "test", sources.get_or_create(s, source, "ldap"), resource)

    name = _conflict(ctx, create("other", {"userName": "ANN@example.org"}))
    assert (name.message, name.field) == (TAKEN_NAME, "userName")
    key = _conflict(ctx, create("corp", {"userName": "bob", "externalId": "k-ann"}))
    assert (key.message, key.field) == (TAKEN_KEY, "externalId")
    ctx.run(create("other", {"userName": "bob", "externalId": "k-ann"}))  # another source
    assert _names(ctx) == ["ann@example.org", "bob"]


def test_one_user_renamed(ctx: Context, ann: str) -> None:
    def rename(user_name: str, external_id: str | None = None) -> Any:
        def work(session: Session) -> None:
            corp = sources.get_or_create(session, "corp", "ldap")
            user = session.scalars(select(User).where(User.user_name == "cem")).first()
            if user is None:
                user = users.create(session, "test", corp, {"userName": "cem"})
            resource = {"userName": user_name, "externalId": external_id}
            users.replace(session, "test", user, {k: v for k, v in resource.items() if v})

        return work

    ctx.run(rename("cem"))
    name = _conflict(ctx, rename("ANN@example.org"))
    assert (name.message, name.field) == (TAKEN_NAME, "userName")
    key = _conflict(ctx, rename("cem", "k-ann"))
    assert (key.message, key.field) == (TAKEN_KEY, "externalId")
    ctx.run(rename("CEM", "k-cem"))  # its own name in another case, a free key
    assert _names(ctx) == ["CEM", "ann@example.org"]


def test_a_batch_of_new_users(ctx: Context, ann: str) -> None:
    resources = [
        {"userName": "ANN@example.org"},  # taken
        {"userName": "bob", "externalId": "k-ann"},  # key taken in the source
        {"userName": "cem", "externalId": "k-cem"},
        {"userName": "Cem", "externalId": "k-other"},  # name twice in the batch
        {"userName": "dan", "externalId": "k-cem"},  # key twice in the batch
        {"userName": "eve"},
    ]

    def work(session: Session) -> list[str]:
        corp = sources.get_or_create(session, "corp", "ldap")
        items = [users.NewUser(r, sync_to_contact=False) for r in resources]
        return [
            r.message if isinstance(r, Conflict) else "created"
            for r in users.create_many(session, "test", corp, items)
        ]

    assert ctx.run(work) == [
        TAKEN_NAME,
        TAKEN_KEY,
        "created",
        "userName 'Cem' appears twice in the batch",
        "externalId 'k-cem' appears twice in the batch",
        "created",
    ]
    assert _names(ctx) == ["ann@example.org", "cem", "eve"]


def test_a_batch_of_changes(ctx: Context, ann: str) -> None:
    def setup(session: Session) -> None:
        corp = sources.get_or_create(session, "corp", "ldap")
        for name in ("u1", "u2", "u3", "u4", "u5"):
            users.create(session, "test", corp, {"userName": name, "externalId": f"k-{name}"})

    ctx.run(setup)
    changes = {
        "u1": {"userName": "ANN@example.org", "externalId": "k-u1"},  # taken
        "u2": {"userName": "u2", "externalId": "k-ann"},  # key taken in the source
        "u3": {"userName": "new", "externalId": "k-new"},
        "u4": {"userName": "NEW", "externalId": "k-u4"},  # name twice in the batch
        "u5": {"userName": "U5", "externalId": "k-new"},  # key twice in the batch
    }

    def work(session: Session) -> list[str]:
        by_name = {u.user_name: u for u in session.scalars(select(User))}
        pairs = [(by_name[name], resource) for name, resource in changes.items()]
        return [
            r.message if isinstance(r, Conflict) else "replaced"
            for r in users.replace_many(session, "test", pairs)
        ]

    assert ctx.run(work) == [
        TAKEN_NAME,
        TAKEN_KEY,
        "replaced",
        "userName 'NEW' appears twice in the batch",
        "externalId 'k-new' appears twice in the batch",
    ]
    assert _names(ctx) == ["ann@example.org", "new", "u1", "u2", "u4", "u5"]
