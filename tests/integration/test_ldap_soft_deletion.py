"""Soft deletion with a real slapd: a user whose entry is gone at reconciliation, or
that an admin deleted, is restorable with its contact until the purge; an entry
that comes back (same entry id) within the grace period revives its user, on the
plain and on the fast import path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from connector.db.models import (
    Contact,
    ContactLink,
    DeletedObject,
    LdapEntry,
    Source,
    SuppressedUser,
    User,
    utcnow,
)
from connector.ldap import run_service
from connector.services import deletion, sync_settings, users
from connector.services.context import Context
from tests.integration.ldap_support import (
    PASSWORD_ENV,
    Directory,
    context,
    source_config,
    with_sources,
)
from tests.support.slapd import SlapdServer

GUARD = {"max_count": 10, "max_percent": 100}


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch, slapd: SlapdServer) -> None:
    monkeypatch.setenv(PASSWORD_ENV, slapd.admin_password)


@pytest.fixture
def directory(slapd: SlapdServer, people_dn: str) -> Directory:
    return Directory(slapd, people_dn)


@pytest.fixture(params=["fast", "plain"])
def make_ctx(request: pytest.FixtureRequest, settings: Any, slapd: SlapdServer) -> Any:
    made: list[Context] = []

    def make(base: str, **overrides: Any) -> Context:
        cfg = source_config(
            slapd, base, fast_import=request.param == "fast", delete_guard=GUARD, **overrides
        )
        ctx = context(with_sources(settings, cfg))
        made.append(ctx)
        ctx.run(lambda s: sync_settings.update(s, "test", {"deleteContactWithUser": True}))
        return ctx

    yield make
    for ctx in made:
        ctx.db.dispose()


def sync(ctx: Context, *, full: bool = False) -> dict[str, Any]:
    return run_service.run_now(ctx, "corp", "test", full=full)


def corp_users(ctx: Context) -> dict[str, User]:
    def work(session: Any) -> dict[str, User]:
        source = session.scalars(select(Source).where(Source.name == "corp")).one()
        found = session.scalars(select(User).where(User.source_id == source.id))
        return {u.user_name: u for u in found}

    return ctx.run(work)


def contact_id_of(ctx: Context, user_id: str) -> str | None:
    return ctx.run(
        lambda s: s.scalars(
            select(ContactLink.contact_id).where(ContactLink.user_id == user_id)
        ).first()
    )


def contact_exists(ctx: Context, contact_id: str) -> bool:
    return ctx.run(lambda s: s.get(Contact, contact_id) is not None)


def deleted(ctx: Context) -> list[dict[str, Any]]:
    return ctx.run(
        lambda s: deletion.listing(s, source_name="corp", kind=None, start_index=1, count=100)
    )["items"]


def test_an_entry_gone_at_reconciliation_is_restorable_until_the_purge(
    make_ctx, directory, slapd, people_dn
):
    for uid in ("stay1", "stay2", "leaver"):
        directory.add(uid)
    ctx = make_ctx(directory.base)
    sync(ctx)
    leaver = corp_users(ctx)["leaver"]
    contact_id = contact_id_of(ctx, leaver.id)
    assert contact_id is not None

    outside = Directory(slapd, people_dn)
    directory.move("leaver", outside.base)
    assert sync(ctx, full=True)["deleted"] == 1
    assert "leaver" not in corp_users(ctx) and not contact_exists(ctx, contact_id)
    [item] = deleted(ctx)
    assert (item["objectId"], item["deletedBy"], item["origin"]) == (
        leaver.id,
        "ldap:corp",
        "source",
    )
    assert (item["anchor"], item["contactId"]) == (leaver.external_id, contact_id)
    assert (
        item["reason"].startswith("entry uid=leaver,")
        and "missing at reconciliation" in item["reason"]
    )

    restored = ctx.run(lambda s: deletion.restore(s, "admin:test", item["id"]))
    assert restored == {"kind": "user", "userId": leaver.id, "contactId": contact_id}
    assert corp_users(ctx)["leaver"].id == leaver.id and contact_exists(ctx, contact_id)
    entry = ctx.run(
        lambda s: s.scalars(select(LdapEntry).where(LdapEntry.user_id == leaver.id)).one()
    )
    assert entry.entry_id == leaver.external_id

    # Still missing from the directory: the next reconciliation deletes it again...
    assert sync(ctx, full=True)["deleted"] == 1
    # ...and once the grace period is over, the purge removes it for good.
    past = utcnow() - timedelta(seconds=1)
    ctx.run(lambda s: s.execute(update(DeletedObject).values(purge_after=past)))
    assert deleted(ctx) == []
    assert ctx.run(lambda s: deletion.purge(s)) == 1
    assert ctx.run(lambda s: s.scalars(select(DeletedObject)).all()) == []
    assert "leaver" not in corp_users(ctx) and not contact_exists(ctx, contact_id)


def test_entries_that_come_back_within_the_grace_period_revive_their_users(
    make_ctx, directory, slapd, people_dn
):
    for uid in ("back1", "back2"):
        directory.add(uid, givenName="Before")
    ctx = make_ctx(directory.base)
    sync(ctx)
    before = corp_users(ctx)
    contacts = {name: contact_id_of(ctx, u.id) for name, u in before.items()}

    outside = Directory(slapd, people_dn)
    for uid in ("back1", "back2"):
        directory.move(uid, outside.base)
    assert sync(ctx, full=True)["deleted"] == 2
    assert corp_users(ctx) == {}

    for uid in ("back1", "back2"):
        outside.move(uid, directory.base)
    directory.modify("back1", givenName="After")
    # No entry of the source is known: a first import (the fast path, when on).
    result = sync(ctx, full=True)
    assert (result["state"], result["created"], result["errors"]) == ("ok", 2, 0)
    after = corp_users(ctx)
    assert {n: u.id for n, u in after.items()} == {n: u.id for n, u in before.items()}
    assert {n: contact_id_of(ctx, u.id) for n, u in after.items()} == contacts
    assert after["back1"].resource["name"]["givenName"] == "After"
    first_name = ctx.run(lambda s: s.get(Contact, contacts["back1"]).fields["firstName"])
    assert first_name == "After"
    assert deleted(ctx) == []
    # The entries are known again: the next poll changes nothing.
    assert sync(ctx)["created"] == 0 and sync(ctx, full=True)["deleted"] == 0


def test_a_user_an_admin_deleted_is_restorable_and_then_followed_again(make_ctx, directory):
    for uid in ("gone", "kept"):
        directory.add(uid)
    ctx = make_ctx(directory.base)
    sync(ctx)
    gone = corp_users(ctx)["gone"]
    contact_id = contact_id_of(ctx, gone.id)
    ctx.run(lambda s: users.delete(s, "admin:test", gone.id))
    assert sync(ctx, full=True)["suppressed"] == 1
    [item] = deleted(ctx)
    assert item["suppressionId"] is not None and item["origin"] == "admin"

    ctx.run(lambda s: deletion.restore(s, "admin:test", item["id"]))
    assert ctx.run(lambda s: s.scalars(select(SuppressedUser)).all()) == []
    assert contact_id_of(ctx, gone.id) == contact_id and contact_exists(ctx, contact_id)
    directory.modify("gone", givenName="Changed")
    polled = sync(ctx)
    assert (polled["suppressed"], polled["updated"], polled["created"]) == (0, 1, 0)
    assert corp_users(ctx)["gone"].resource["name"]["givenName"] == "Changed"
