"""LDAP sources against a real slapd, on SQLite and PostgreSQL (issue 4)."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import pytest
from sqlalchemy import select

from connector.db.models import (
    AuditEvent,
    Contact,
    ContactLink,
    LdapEntry,
    Source,
    SuppressedUser,
    User,
)
from connector.errors import Conflict
from connector.ldap import run_service
from connector.ldap.client import LdapClient
from connector.ldap.fast_import import reader_process
from connector.ldap.settings import LdapSourceConfig
from connector.ldap.sync.users import UserSynchroniser
from connector.services import users
from connector.services.context import Context
from tests.integration.ldap_support import (
    PASSWORD_ENV,
    Directory,
    context,
    source_config,
    with_sources,
)
from tests.support.refusal import MESSAGE as REFUSED
from tests.support.refusal import refused
from tests.support.slapd import SlapdServer, free_port

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch, slapd: SlapdServer) -> None:
    monkeypatch.setenv(PASSWORD_ENV, slapd.admin_password)


@pytest.fixture
def directory(slapd: SlapdServer, people_dn: str) -> Directory:
    return Directory(slapd, people_dn)


_open_contexts: list[Context] = []


@pytest.fixture(autouse=True)
def _dispose_contexts() -> Any:
    yield
    while _open_contexts:
        _open_contexts.pop().db.dispose()


# Every test runs on both paths of the one switch (a source's fast_import, see
# connector.ldap.fast_import): the same behaviour is expected of each.
FAST_IMPORT = True


@pytest.fixture(autouse=True, params=["fast", "plain"])
def _path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "FAST_IMPORT", request.param == "fast")


def make_ctx(settings: Any, server: SlapdServer, base: str, **overrides: Any) -> Context:
    config = source_config(server, base, **{"fast_import": FAST_IMPORT, **overrides})
    ctx = context(with_sources(settings, config))
    _open_contexts.append(ctx)
    return ctx


def ldap_users(ctx: Context) -> dict[str, User]:
    def work(session: Any) -> dict[str, User]:
        source = session.scalars(select(Source).where(Source.name == "corp")).one()
        return {
            u.user_name: u for u in session.scalars(select(User).where(User.source_id == source.id))
        }

    return ctx.run(work)


def contact_of(ctx: Context, user_id: str) -> Contact | None:
    def work(session: Any) -> Contact | None:
        link = session.scalars(select(ContactLink).where(ContactLink.user_id == user_id)).first()
        return session.get(Contact, link.contact_id) if link else None

    return ctx.run(work)


def sync(ctx: Context, *, full: bool = False, **kw: Any) -> dict[str, Any]:
    return run_service.run_now(ctx, "corp", "test", full=full, **kw)


# ------------------------------------------------------------------ add, modify, hash


def test_first_run_imports_everything_then_polls_write_only_changes(settings, directory, slapd):
    for uid in ("ann", "bob", "cem", "dan"):
        directory.add(uid, givenName=uid.title(), mail=f"{uid}@example.org")
    ctx = make_ctx(settings, slapd, directory.base)

    first = sync(ctx)
    assert (first["kind"], first["state"]) == ("full", "ok")
    assert (first["read"], first["created"], first["errors"]) == (4, 4, 0)
    found = ldap_users(ctx)
    assert sorted(found) == ["ann", "bob", "cem", "dan"]
    ann = found["ann"]
    assert ann.resource["name"]["givenName"] == "Ann"
    assert ann.resource["emails"] == [{"type": "work", "value": "ann@example.org"}]
    assert ann.external_id and len(ann.external_id) == 36  # entryUUID, not the DN
    assert contact_of(ctx, ann.id) is not None  # sync_to_contact = true

    again = sync(ctx)
    assert (again["kind"], again["state"]) == ("poll", "ok")
    assert (again["created"], again["updated"]) == (0, 0)
    assert again["unchanged"] == again["read"]  # re-read within the overlap, nothing written

    directory.modify("bob", givenName="Robert")
    directory.modify("cem", description="login bumped modifyTimestamp only")  # not mapped
    polled = sync(ctx)
    assert (polled["updated"], polled["created"], polled["deleted"]) == (1, 0, 0)
    bob = ldap_users(ctx)["bob"]
    assert bob.resource["name"]["givenName"] == "Robert"
    assert contact_of(ctx, bob.id).fields["firstName"] == "Robert"
    assert ldap_users(ctx)["cem"].version == found["cem"].version  # not rewritten


def test_rename_and_move_inside_the_base_keep_identity(settings, directory, slapd):
    directory.add("old", givenName="Olga")
    sub = directory.sub_ou("moved")
    ctx = make_ctx(settings, slapd, directory.base)
    sync(ctx)
    before = ldap_users(ctx)["old"]

    directory.rename("old", "new")
    renamed = sync(ctx)
    assert (renamed["updated"], renamed["created"], renamed["deleted"]) == (1, 0, 0)
    after = ldap_users(ctx)
    assert list(after) == ["new"] and after["new"].id == before.id

    with directory.conn() as conn:
        assert conn.modify_dn(directory.dn("new"), "uid=new", new_superior=sub), conn.result
    moved = sync(ctx, full=True)
    assert (moved["state"], moved["deleted"], moved["created"]) == ("ok", 0, 0)
    assert ldap_users(ctx)["new"].id == before.id
    dn = ctx.run(lambda s: s.scalars(select(LdapEntry.dn)).one())
    assert dn.startswith("uid=new,ou=moved,")


def test_move_out_of_base_and_leaving_the_filter_remove_at_reconciliation(
    settings, directory, slapd, people_dn
):
    for uid in ("stay1", "stay2", "stay3", "leaver", "filtered"):
        directory.add(uid, employeeType="staff")
    ctx = make_ctx(
        settings,
        slapd,
        directory.base,
        filter="(&(objectClass=inetOrgPerson)(employeeType=staff))",
        delete_guard={"max_count": 10, "max_percent": 50},
    )
    sync(ctx)
    leaver_id = ldap_users(ctx)["leaver"].id
    contact = contact_of(ctx, leaver_id)
    assert contact is not None

    outside = Directory(slapd, people_dn)
    directory.move("leaver", outside.base)
    directory.modify("filtered", employeeType="contractor")
    polled = sync(ctx)  # an incremental poll cannot see entries that left: nothing removed
    assert polled["deleted"] == 0 and len(ldap_users(ctx)) == 5

    full = sync(ctx, full=True)
    assert (full["state"], full["deleted"], full["created"]) == ("ok", 2, 0)
    assert sorted(ldap_users(ctx)) == ["stay1", "stay2", "stay3"]
    # "Delete contact when user is deleted" is off by default: the contact stays, unlinked.
    kept = ctx.run(lambda s: s.get(Contact, contact.id))
    assert kept is not None
    assert ctx.run(lambda s: s.scalars(select(SuppressedUser)).all()) == []


def test_disabled_account_marks_user_and_contact_inactive(settings, directory, slapd):
    directory.add("dora")
    ctx = make_ctx(settings, slapd, directory.base, disabled="(description=disabled)")
    sync(ctx)
    dora = ldap_users(ctx)["dora"]
    assert dora.active is True

    directory.modify("dora", description="disabled")
    assert sync(ctx)["updated"] == 1
    dora = ldap_users(ctx)["dora"]
    assert dora.active is False and dora.resource["active"] is False
    assert contact_of(ctx, dora.id).active is False  # onDeactivate default: mark inactive


def test_deleted_entry_is_deleted_or_deactivated_per_source_setting(settings, directory, slapd):
    for uid in ("e1", "e2", "e3", "e4", "e5"):
        directory.add(uid)
    ctx = make_ctx(settings, slapd, directory.base)
    sync(ctx)
    directory.delete("e1")
    result = sync(ctx, full=True)
    assert (result["deleted"], result["state"]) == (1, "ok")
    assert sorted(ldap_users(ctx)) == ["e2", "e3", "e4", "e5"]

    ctx2 = make_ctx(
        settings,
        slapd,
        directory.base,
        on_missing="deactivate",
        delete_guard={"max_count": 5, "max_percent": 50},
    )
    directory.delete("e2")
    result = sync(ctx2, full=True)
    assert (result["deactivated"], result["deleted"]) == (1, 0)
    assert ldap_users(ctx2)["e2"].active is False
    # Already deactivated: the next reconciliation does not count it again.
    assert sync(ctx2, full=True)["deactivated"] == 0
    # It comes back: active again, same user.
    kept_id = ldap_users(ctx2)["e2"].id
    directory.add("e2")
    assert sync(ctx2, full=True)["updated"] == 1
    assert ldap_users(ctx2)["e2"].active is True and ldap_users(ctx2)["e2"].id == kept_id


def test_user_deleted_by_admin_is_reported_suppressed_not_revived(settings, directory, slapd):
    directory.add("gone")
    directory.add("kept")
    ctx = make_ctx(settings, slapd, directory.base)
    sync(ctx)
    ctx.run(lambda s: users.delete(s, "admin", ldap_users(ctx)["gone"].id))

    directory.modify("gone", givenName="Changed")
    polled = sync(ctx)
    assert (polled["suppressed"], polled["created"]) == (1, 0)
    full = sync(ctx, full=True)
    assert (full["suppressed"], full["created"], full["deleted"]) == (1, 0, 0)
    assert list(ldap_users(ctx)) == ["kept"]


# ------------------------------------------------------------------ entries of every shape


def test_missing_multi_valued_non_ascii_and_binary_attributes(settings, directory, slapd):
    photo = bytes(range(256))
    directory.add("plain")  # no mail, no givenName
    directory.add(
        "multi",
        mail=["first@example.org", "second@example.org"],
        telephoneNumber=["+49 1", "+49 2"],
    )
    directory.add("jurgen", givenName="Jürgen", sn="Šťastný-Øster", cn="Jürgen Š")
    directory.add("pic", jpegPhoto=photo)
    with directory.conn() as conn:  # no uid: it cannot become a user
        assert conn.add(f"cn=noname,{directory.base}", ["inetOrgPerson"], {"cn": "n", "sn": "n"})
    attributes = {
        "uid": "userName",
        "givenName": "name.givenName",
        "sn": "name.familyName",
        "mail": 'emails[type eq "work"].value',
        "telephoneNumber": 'phoneNumbers[type eq "work"].value',
        "jpegPhoto": f"{ENTERPRISE}:employeeNumber",
    }
    ctx = make_ctx(settings, slapd, directory.base, attributes=attributes)
    result = sync(ctx)
    assert (result["created"], result["errors"]) == (4, 1)
    assert "no value for userName" in result["errorMessages"][0]
    found = ldap_users(ctx)
    assert "emails" not in found["plain"].resource
    assert "givenName" not in found["plain"].resource["name"]
    assert found["multi"].resource["emails"] == [{"type": "work", "value": "first@example.org"}]
    assert found["multi"].resource["phoneNumbers"][0]["value"] == "+49 1"
    assert found["jurgen"].resource["name"] == {
        "givenName": "Jürgen",
        "familyName": "Šťastný-Øster",
    }
    stored = found["pic"].resource[ENTERPRISE]["employeeNumber"]
    assert base64.b64decode(stored) == photo
    # The unmappable entry exists: a reconciliation must not count it as missing.
    assert sync(ctx, full=True)["deleted"] == 0


def imported(ctx: Context) -> dict[str, Any]:
    """What a first import stored, by userName, without ids and times: the user, its
    e-mail lookup rows, entry state, contact and audit events."""
    from connector.db.models import AuditEvent, UserEmail

    def work(session: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for user in ldap_users_in(session).values():
            link = session.scalars(
                select(ContactLink).where(ContactLink.user_id == user.id)
            ).first()
            contact = session.get(Contact, link.contact_id) if link else None
            entry = session.scalars(select(LdapEntry).where(LdapEntry.user_id == user.id)).one()
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.object_id.in_([user.id, contact.id if contact else ""])
                )
            ).all()
            found[user.user_name] = {
                "user": (user.resource, user.active, user.external_id, user.sync_to_contact),
                "emails": sorted(
                    session.scalars(select(UserEmail.value_ci).where(UserEmail.user_id == user.id))
                ),
                "entry": (entry.entry_id, entry.dn, entry.change_marker, entry.content_hash),
                "contact": contact and (contact.fields, contact.search_text, contact.active),
                "events": sorted(
                    (
                        e.action,
                        e.actor,
                        e.message,
                        json.dumps(_timeless(e.before), sort_keys=True),
                        json.dumps(_timeless(e.after), sort_keys=True),
                    )
                    for e in events
                ),
            }
        return found

    return ctx.run(work)


def _timeless(payload: Any) -> Any:
    if not isinstance(payload, dict):
        return payload
    return {k: v for k, v in payload.items() if k not in ("id", "meta")}


def ldap_users_in(session: Any) -> dict[str, User]:
    source = session.scalars(select(Source).where(Source.name == "corp")).one()
    return {
        u.user_name: u for u in session.scalars(select(User).where(User.source_id == source.id))
    }


def test_the_fast_and_the_plain_first_import_store_the_same(settings, directory, slapd):
    """The one switch's two paths, end to end: a first import over several pages
    (plans made in either process, users validated per shape or one by one, a
    value with blanks, a disabled account, non-ASCII, multi-valued and binary
    values) stores the same rows either way."""
    from connector.db.models import AuditEvent, UserEmail

    if not FAST_IMPORT:
        pytest.skip("takes both paths itself")
    for i in range(7):
        directory.add(f"u{i}", givenName=f"G{i}", mail=f"u{i}@example.org", title="Staff")
    directory.add("multi", mail=["first@example.org", "second@example.org"])
    directory.add("jurgen", givenName="Jürgen", sn="Šťastný-Øster", displayName="Jürgen Š")
    directory.add("padded", displayName="  padded  ", employeeNumber="0042")
    directory.add("pic", jpegPhoto=bytes(range(256)), description="disabled", title="Staff")
    shapes = {"disabled": "(description=disabled)", "sync_to_contact": 'title eq "Staff"'}

    stored = {}
    for fast in (True, False):
        ctx = make_ctx(settings, slapd, directory.base, fast_import=fast, **shapes)
        run = sync(ctx, full=True)
        assert (run["kind"], run["state"], run["created"], run["errors"]) == ("full", "ok", 11, 0)
        stored[fast] = imported(ctx)

        def wipe(session: Any) -> None:  # a fresh database for the other path
            for table in (LdapEntry, ContactLink, Contact, UserEmail, AuditEvent, User):
                session.query(table).delete()

        ctx.run(wipe)
    assert len(stored[True]) == 11
    assert stored[True] == stored[False]


def test_the_client_reads_entries_as_ldap3_itself_does(directory, slapd):
    """On the fast path the client reads search entries from their bytes
    (connector.ldap.fast_import.ber), on the plain path ldap3 decodes them: against
    real slapd, over several pages, both must see what ldap3 alone decodes."""
    directory.add("plain")
    directory.add("multi", mail=["first@example.org", "second@example.org"])
    directory.add("jurgen", givenName="Jürgen", sn="Šťastný-Øster", cn="Jürgen Š")
    directory.add("pic", jpegPhoto=bytes(range(256)) * 300)  # a long-form length
    config = source_config(slapd, directory.base, fast_import=FAST_IMPORT)
    cfg = LdapSourceConfig.model_validate(config)
    attributes = cfg.read_attributes()
    with LdapClient(cfg) as client:
        ours = {e.dn: e.raw for page in client.pages(cfg.filter, attributes) for e in page}
        patched = "receiving" in vars(client._main.strategy)  # type: ignore[union-attr]
        assert patched is FAST_IMPORT  # the switch decides who decodes
    with directory.conn() as conn:
        assert conn.search(directory.base, cfg.filter, attributes=attributes)
        theirs = {
            # ldap3 lists requested attributes the entry lacks as empty: not a value
            item["dn"]: {k.lower(): list(v) for k, v in item["raw_attributes"].items() if v}
            for item in conn.response
        }
    assert len(ours) == 4
    assert ours == theirs


# ------------------------------------------------------------------ failures delete nothing


def test_server_down_before_the_run_and_failover_to_the_next_url(settings, directory, slapd):
    directory.add("f1")
    closed = f"ldap://127.0.0.1:{free_port()}"
    ctx = make_ctx(settings, slapd, directory.base, urls=[closed])
    failed = sync(ctx)
    assert failed["state"] == "error" and closed in failed["message"]
    assert ldap_users(ctx) == {}

    ctx = make_ctx(settings, slapd, directory.base, urls=[closed, slapd.url])
    assert sync(ctx)["state"] == "ok"
    assert list(ldap_users(ctx)) == ["f1"]


def test_wrong_password_fails_the_run_without_leaking_it(settings, directory, slapd, monkeypatch):
    ctx = make_ctx(settings, slapd, directory.base)
    monkeypatch.setenv(PASSWORD_ENV, "not-the-secret-xyz")
    failed = sync(ctx)
    assert failed["state"] == "error" and "invalid credentials" in failed["message"]
    assert "not-the-secret-xyz" not in repr(failed)
    monkeypatch.delenv(PASSWORD_ENV)
    assert PASSWORD_ENV in sync(ctx)["message"]


@pytest.fixture
def private_slapd() -> Any:
    """A second slapd that a test may stop (the session's one is shared)."""
    server = SlapdServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_server_lost_in_the_middle_of_a_reconciliation_deletes_nothing(
    settings, private_slapd, monkeypatch
):
    monkeypatch.setenv(PASSWORD_ENV, private_slapd.admin_password)
    directory = Directory(private_slapd)
    for i in range(30):  # 10 pages of 3
        directory.add(f"m{i:02d}")
    ctx = make_ctx(settings, private_slapd, directory.base)
    first = sync(ctx)
    assert first["created"] == 30
    directory.delete("m00")

    pages: list[int] = []

    def kill_after_first_page(counts: dict[str, Any]) -> None:
        pages.append(counts["read"])
        if len(pages) == 1:
            private_slapd.stop()

    failed = sync(ctx, full=True, progress=kill_after_first_page)
    assert failed["state"] == "error" and failed["deleted"] == 0
    assert failed["watermark"] is None
    assert len(ldap_users(ctx)) == 30  # m00 is missing, but the read was cut short
    # The pages the reader process had sent before the server went were still
    # compared, no more: it is never more than LEAD pages ahead.
    assert 1 <= len(pages) <= 1 + reader_process.LEAD < 10


def test_server_lost_in_the_middle_of_a_poll_keeps_the_watermark(
    settings, private_slapd, monkeypatch
):
    monkeypatch.setenv(PASSWORD_ENV, private_slapd.admin_password)
    directory = Directory(private_slapd)
    for i in range(9):
        directory.add(f"p{i}")
    ctx = make_ctx(settings, private_slapd, directory.base)
    first = sync(ctx)

    calls: list[int] = []

    def kill(counts: dict[str, Any]) -> None:
        calls.append(1)
        private_slapd.stop()

    failed = sync(ctx, progress=kill)
    assert failed["state"] == "error" and len(calls) == 1
    runs_now = ctx.run(lambda s: run_service.list_runs(s, "corp"))
    newest_ok = next(r for r in runs_now if r["state"] == "ok")
    assert newest_ok["id"] == first["id"]  # the next poll starts from the old watermark


def test_a_page_refused_by_the_server_fails_the_run(settings, private_slapd, monkeypatch):
    """A real server-side limit (olcLimits size.prtotal) refuses the second page."""
    from tests.support.slapd import ssha

    directory = Directory(private_slapd)
    reader = f"cn=reader,{private_slapd.base_dn}"
    with directory.conn() as conn:
        assert conn.add(
            reader,
            ["simpleSecurityObject", "organizationalRole"],
            {"cn": "reader", "userPassword": ssha("reader-pw")},
        )
    for i in range(8):
        directory.add(f"r{i}")
    monkeypatch.setenv(PASSWORD_ENV, "reader-pw")
    ctx = make_ctx(settings, private_slapd, directory.base, bind_dn=reader)
    assert sync(ctx)["created"] == 8
    directory.delete("r0")

    config = private_slapd.connection(private_slapd.config_admin_dn, private_slapd.admin_password)
    try:
        limit = f'dn.exact="{reader}" size.prtotal=4'
        assert config.modify(
            "olcDatabase={2}mdb,cn=config", {"olcLimits": [("MODIFY_ADD", [limit])]}
        )
    finally:
        config.unbind()
    failed = sync(ctx, full=True)
    assert failed["state"] == "error" and "sizeLimitExceeded" in failed["message"]
    assert failed["deleted"] == 0 and len(ldap_users(ctx)) == 8


# ------------------------------------------------------------------ the deletion guard


def test_a_base_that_returns_nothing_trips_the_guard_until_confirmed(settings, directory, slapd):
    for i in range(6):
        directory.add(f"g{i}")
    ctx = make_ctx(settings, slapd, directory.base)
    sync(ctx)
    empty = directory.sub_ou("empty")
    ctx = make_ctx(settings, slapd, empty)

    blocked = sync(ctx, full=True)
    assert (blocked["state"], blocked["wouldDelete"], blocked["deleted"]) == ("blocked", 6, 0)
    assert f"--confirm-deletes {blocked['id']}" in blocked["message"]
    assert len(ldap_users(ctx)) == 6

    done = run_service.confirm(ctx, "corp", blocked["id"], "admin")
    assert (done["state"], done["deleted"], done["confirmsRun"]) == ("ok", 6, blocked["id"])
    assert ldap_users(ctx) == {}
    listed = {r["id"]: r for r in ctx.run(lambda s: run_service.list_runs(s, "corp"))}
    assert listed[blocked["id"]]["state"] == "confirmed"
    assert listed[blocked["id"]]["confirmedByRun"] == done["id"]


def test_guard_by_percentage(settings, directory, slapd):
    for i in range(10):
        directory.add(f"q{i}")
    ctx = make_ctx(
        settings, slapd, directory.base, delete_guard={"max_count": 100, "max_percent": 20}
    )
    sync(ctx)
    for i in range(3):
        directory.delete(f"q{i}")
    assert sync(ctx, full=True)["state"] == "blocked"  # 30% > 20%
    looser = make_ctx(
        settings, slapd, directory.base, delete_guard={"max_count": 100, "max_percent": 30}
    )
    assert sync(looser, full=True)["deleted"] == 3  # 30%: allowed


def test_the_deleter_itself_asks_the_guard(settings, directory, slapd):
    """Every path that removes LDAP users goes through remove_missing, which asks the
    delete guard itself: called directly past the threshold, it removes nothing."""
    for i in range(3):
        directory.add(f"d{i}")
    ctx = make_ctx(settings, slapd, directory.base, delete_guard={"max_count": 1})
    sync(ctx)
    cfg = run_service.config_of(ctx, "corp")
    source_id = ctx.run(lambda s: s.scalars(select(Source.id).where(Source.name == "corp")).one())
    deleter = UserSynchroniser(ctx, cfg, source_id, "ldap:corp")

    refused = deleter.remove_missing(-1)  # a run that saw no entry: all three missing
    assert (refused.blocked, refused.missing, refused.population) == (True, 3, 3)
    assert refused.counts.deleted == 0 and len(ldap_users(ctx)) == 3

    allowed = deleter.remove_missing(-1, confirmed=3)  # what an admin confirmed
    assert (allowed.blocked, allowed.counts.deleted) == (False, 3)
    assert ldap_users(ctx) == {}


def test_a_second_run_of_the_same_source_is_refused_while_one_is_running(
    settings, directory, slapd
):
    directory.add("x")
    ctx = make_ctx(settings, slapd, directory.base)
    run_id = run_service.queue(ctx, "corp", "test")
    with pytest.raises(run_service.RunInProgress):
        run_service.queue(ctx, "corp", "test")
    assert run_service.execute(ctx, run_id)["state"] == "ok"


def lose_a_race(monkeypatch: pytest.MonkeyPatch, batch: str) -> list[str]:
    """The next call of the batch write ``users.<batch>`` fails as a whole, as it does
    when a concurrent writer inserts a conflicting row between the batch's checks and
    its insert (the IntegrityError becomes a Conflict): the page is then written
    entry by entry. Returns the list that records the lost race."""
    real = getattr(users, batch)
    lost: list[str] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        if not lost:
            lost.append(batch)
            raise Conflict("userName or externalId is already taken")
        return real(*args, **kwargs)

    monkeypatch.setattr(users, batch, racing)
    return lost


@pytest.mark.parametrize("race", [False, True], ids=["batch", "lost-race"])
def test_a_username_taken_by_another_source_is_an_error_for_that_entry_only(
    settings, directory, slapd, monkeypatch, race
):
    directory.add("taken")
    directory.add("free")
    ctx = make_ctx(settings, slapd, directory.base)

    def local_user(session: Any) -> None:
        local = session.scalars(select(Source).where(Source.name == "local")).one()
        users.create(session, "admin", local, {"userName": "TAKEN"})

    ctx.run(local_user)
    lost = lose_a_race(monkeypatch, "create_many") if race else ["create_many"]
    result = sync(ctx)
    assert lost == ["create_many"]
    assert (result["created"], result["errors"]) == (1, 1)
    assert "already taken" in result["errorMessages"][0]
    assert list(ldap_users(ctx)) == ["free"]
    assert sync(ctx, full=True)["deleted"] == 0


def test_a_run_left_running_by_a_dead_process(settings, directory, slapd):
    """PostgreSQL: nobody holds the advisory lock, so the next run closes it and goes on.
    SQLite: another process may be running it, so it is refused until its time is up."""
    from connector.db.models import SyncRun

    directory.add("z")
    ctx = make_ctx(settings, slapd, directory.base)
    dead = run_service.queue(ctx, "corp", "test")

    def mark_running(session: Any) -> None:
        session.get(SyncRun, dead).state = "running"

    ctx.run(mark_running)
    if ctx.db.dialect == "postgresql":
        assert sync(ctx)["state"] == "ok"
        old = next(
            r for r in ctx.run(lambda s: run_service.list_runs(s, "corp")) if r["id"] == dead
        )
        assert old["state"] == "error" and "interrupted" in old["message"]
    else:
        with pytest.raises(run_service.RunInProgress):
            run_service.queue(ctx, "corp", "test")


@pytest.mark.parametrize("race", [False, True], ids=["batch", "lost-race"])
def test_an_update_to_a_taken_username_is_an_error_and_changes_nothing(
    settings, directory, slapd, monkeypatch, race
):
    directory.add("mover", givenName="M")
    directory.add("other")
    ctx = make_ctx(settings, slapd, directory.base)
    sync(ctx)
    before = ldap_users(ctx)["mover"]

    def local_user(session: Any) -> None:
        local = session.scalars(select(Source).where(Source.name == "local")).one()
        users.create(session, "admin", local, {"userName": "clash"})

    ctx.run(local_user)
    directory.rename("mover", "clash")
    directory.modify("other", givenName="Changed")
    lost = lose_a_race(monkeypatch, "replace_many") if race else ["replace_many"]
    result = sync(ctx)
    assert lost == ["replace_many"]
    assert (result["updated"], result["errors"]) == (1, 1)
    assert "already taken" in result["errorMessages"][0]
    after = ldap_users(ctx)
    assert after["mover"].version == before.version
    assert after["other"].resource["name"]["givenName"] == "Changed"


def test_sync_to_contact_as_a_scim_filter_decides_per_user(settings, directory, slapd):
    directory.add("staff1", title="Staff")
    directory.add("guest1", title="Guest")
    ctx = make_ctx(settings, slapd, directory.base, sync_to_contact='title eq "Staff"')
    sync(ctx)
    found = ldap_users(ctx)
    assert found["staff1"].sync_to_contact and contact_of(ctx, found["staff1"].id)
    assert not found["guest1"].sync_to_contact and contact_of(ctx, found["guest1"].id) is None

    directory.modify("guest1", title="Staff")
    assert sync(ctx)["updated"] == 1
    promoted = ldap_users(ctx)["guest1"]
    assert promoted.sync_to_contact and contact_of(ctx, promoted.id) is not None


def test_a_scope_preview_of_a_directory_source_is_what_the_change_does(settings, directory, slapd):
    from connector.services import rescope, scope_preview

    directory.add("staff2", title="Staff")
    directory.add("guest3", title="Guest")
    ctx = make_ctx(settings, slapd, directory.base, sync_to_contact='title eq "Staff"')
    sync(ctx)
    new_scope = 'title eq "Guest"'
    preview = ctx.read(lambda s: scope_preview.preview(s, "corp", new_scope, batch=2))
    assert (preview["gain"], preview["lose"]) == (1, 1)
    assert ldap_users(ctx)["guest3"].sync_to_contact is False  # the preview changed nothing
    ctx.run(lambda s: rescope.change_scope(s, "test", "corp", new_scope, 2))
    now = ldap_users(ctx)
    effects = {s["userName"]: s["contact"] for s in preview["samples"]}
    assert effects == {"staff2": "pause", "guest3": "create"}
    assert now["guest3"].sync_to_contact and contact_of(ctx, now["guest3"].id) is not None
    assert not now["staff2"].sync_to_contact  # its link paused, the contact kept
    assert contact_of(ctx, now["staff2"].id) is not None


def test_an_admin_switch_on_a_directory_user_survives_the_next_runs(settings, directory, slapd):
    from connector.services import users as user_service

    directory.add("guest2", title="Guest")
    ctx = make_ctx(settings, slapd, directory.base, sync_to_contact='title eq "Staff"')
    sync(ctx)
    user_id = ldap_users(ctx)["guest2"].id
    ctx.run(lambda s: user_service.patch(s, "admin:t", user_id, {"syncToContact": True}))
    directory.modify("guest2", title="Visitor")
    sync(ctx)
    kept = ldap_users(ctx)["guest2"]
    assert kept.sync_to_contact and contact_of(ctx, kept.id) is not None
    ctx.run(lambda s: user_service.patch(s, "admin:t", user_id, {"syncToContact": None}))
    assert not ldap_users(ctx)["guest2"].sync_to_contact


def test_a_scope_flip_by_the_directory_is_one_sync_event(settings, directory, slapd):
    directory.add("flip", title="Guest")
    ctx = make_ctx(settings, slapd, directory.base, sync_to_contact='title eq "Staff"')
    sync(ctx)
    user_id = ldap_users(ctx)["flip"].id

    def sync_events(session: Any) -> list[tuple[Any, ...]]:
        return [
            (e.before, e.after, e.actor, e.message)
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "user.sync", AuditEvent.object_id == user_id)
                .order_by(AuditEvent.id)
            )
        ]

    assert ctx.run(sync_events) == []
    directory.modify("flip", title="Staff")
    sync(ctx)
    directory.modify("flip", title="Guest")
    sync(ctx)
    why = "decided by the source's sync_to_contact"
    assert ctx.run(sync_events) == [
        ({"syncToContact": False}, {"syncToContact": True}, "ldap:corp", why),
        ({"syncToContact": True}, {"syncToContact": False}, "ldap:corp", why),
    ]


def test_an_entry_the_database_refuses_is_an_entry_error_and_the_run_goes_on(
    settings, directory, slapd
):
    """A value the database cannot store (here a trigger stands for it, on both
    databases) costs its entry, with its DN, not the page or the run."""
    for uid in ("ann", "bob", "cem"):
        directory.add(uid, givenName=uid.title())
    ctx = make_ctx(settings, slapd, directory.base)
    with refused(ctx.db.engine, "users", "NEW.user_name = 'bob'"):
        first = sync(ctx)
    assert (first["state"], first["read"], first["created"], first["errors"]) == ("ok", 3, 2, 1)
    [message] = first["errorMessages"]
    assert message.startswith(f"uid=bob,{directory.base}: ")
    if ctx.db.dialect == "postgresql":  # SQLite's trigger fails as a constraint would
        assert REFUSED in message
    directory.modify("ann", givenName="Anna")
    directory.modify("cem", givenName="Cemal")
    with refused(ctx.db.engine, "users", "NEW.user_name = 'cem'"):
        polled = sync(ctx)
    assert (polled["state"], polled["errors"]) == ("ok", 1)
    assert polled["errorMessages"][0].startswith(f"uid=cem,{directory.base}")
    found = ldap_users(ctx)
    assert found["ann"].resource["name"]["givenName"] == "Anna"
    assert found["cem"].resource["name"]["givenName"] == "Cem"


def test_an_entry_with_a_value_no_database_can_store_is_an_entry_error(settings, directory, slapd):
    """NUL in a value, or a userName longer than its column: that entry is an error
    with its DN (counted, skipped), the others are written, on both databases."""
    directory.add("fine", description="fine")
    # userPassword is an octet string: slapd keeps a NUL in it as it is.
    nul_dn = directory.add("nul", description="nul", userPassword=b"nick\x00name")
    long_dn = directory.add("long", description="u" * 300)
    attributes = {"description": "userName", "userPassword": "nickName"}
    ctx = make_ctx(settings, slapd, directory.base, attributes=attributes)
    result = sync(ctx)
    assert (result["created"], result["errors"]) == (1, 2)
    nul, long = sorted(result["errorMessages"], key=lambda m: m.startswith(long_dn))
    assert nul.startswith(nul_dn) and "userPassword contains NUL" in nul
    assert long.startswith(long_dn) and "'userName' is 300 characters" in long
    assert list(ldap_users(ctx)) == ["fine"]
    again = sync(ctx, full=True)
    assert (again["state"], again["deleted"], again["errors"]) == ("ok", 0, 2)


def test_an_entry_whose_update_cannot_be_stored_is_an_error_not_a_missing_entry(
    settings, directory, slapd
):
    """A reconciliation that cannot write an entry's change still saw the entry: its
    user stays as it was, and the entry is not counted as missing (nor deleted)."""
    for uid in ("fine", "a", "b", "c", "d", "e"):
        directory.add(uid, description=uid)
    attributes = {"description": "userName"}
    sync(make_ctx(settings, slapd, directory.base, attributes=attributes))
    directory.modify("fine", description="u" * 300)
    # Another map: every entry is read again, whatever its change marker.
    remapped = make_ctx(
        settings, slapd, directory.base, attributes={**attributes, "title": "title"}
    )
    full = sync(remapped, full=True)
    assert (full["state"], full["errors"], full["deleted"], full["wouldDelete"]) == ("ok", 1, 0, 0)
    assert "'userName' is 300 characters" in full["errorMessages"][0]
    assert sorted(ldap_users(remapped)) == ["a", "b", "c", "d", "e", "fine"]
