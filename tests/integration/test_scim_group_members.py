"""A group PATCH that only adds or removes members writes those rows, whatever the size.

The statements of a one-member add and remove are caught with an engine event
and compared between a group of one member and one of 2,000: the same number,
and none reads the member list unless the answer shows it. The answers, the
version, the audit and the errors are those of any PATCH.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from connector.db.models import AuditEvent, Group, GroupMember, User
from connector.services import groups, sources, tokens, users
from connector.services.context import Context
from tests.integration.scim_client import ScimClient, in_threads
from tests.integration.sent_statements import sent_statements

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BIG = 2000


@pytest.fixture
def scim(app: Any, ctx: Context) -> ScimClient:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    return ScimClient(app.test_client(), secret)


def add_users(ctx: Context, count: int, prefix: str) -> list[str]:
    def work(session: Any) -> list[str]:
        source = sources.by_name(session, "idp")
        assert source is not None
        batch = [
            users.NewUser(
                {"schemas": [CORE_USER], "userName": f"{prefix}{i}@example.com"},
                sync_to_contact=False,
            )
            for i in range(count)
        ]
        return [u.id for u in users.create_many(session, "test", source, batch)]  # type: ignore[union-attr]

    return ctx.run(work)


def make_group(ctx: Context, name: str, member_ids: list[str]) -> str:
    def work(session: Any) -> str:
        source = sources.by_name(session, "idp")
        assert source is not None
        group, _ = groups.create(session, "test", source.id, name, None, member_ids)
        return group.id

    return ctx.run(work)


def statements(ctx: Context) -> AbstractContextManager[list[str]]:
    """Each statement on one line (whitespace folded), as the shapes below compare them."""
    return sent_statements(ctx, lambda statement, _parameters: " ".join(statement.split()))


def add(member_id: str) -> list[dict[str, Any]]:
    return [{"op": "add", "path": "members", "value": [{"value": member_id}]}]


def remove(member_id: str) -> list[dict[str, Any]]:
    return [{"op": "remove", "path": f'members[value eq "{member_id}"]'}]


def reads_member_list(statement: str) -> bool:
    """A read of group_members not narrowed to named members."""
    return (
        statement.startswith("SELECT")
        and "FROM group_members" in statement
        and "group_members.member_id IN" not in statement
    )


def member_patches(scim: ScimClient, ctx: Context, group_id: str, spare: str, **params: Any):
    with statements(ctx) as added:
        scim.patch(f"/Groups/{group_id}", add(spare), **params)
    with statements(ctx) as removed:
        scim.patch(f"/Groups/{group_id}", remove(spare), **params)
    return added, removed


def test_one_member_patch_costs_the_same_on_a_large_group(scim, ctx):
    small_members = add_users(ctx, 2, "small")
    big_members = add_users(ctx, BIG + 1, "big")
    small = make_group(ctx, "Small", small_members[:1])
    big = make_group(ctx, "Big", big_members[:BIG])
    scim.get("/Groups", count=0)  # the token's first use writes its last-used time
    small_add, small_remove = member_patches(
        scim, ctx, small, small_members[1], excludedAttributes="members"
    )
    big_add, big_remove = member_patches(
        scim, ctx, big, big_members[BIG], excludedAttributes="members"
    )
    assert len(big_add) == len(small_add)
    assert len(big_remove) == len(small_remove)
    for statement in (*big_add, *big_remove):
        assert not reads_member_list(statement), statement
        rewrites = statement.startswith("DELETE FROM group_members")
        assert not rewrites or "group_members.member_id IN" in statement, statement
    # As Entra ID sends it (no parameters): 204, and the member list is not read either,
    # nor the group for an answer.
    bare_add, bare_remove = member_patches(scim, ctx, big, big_members[BIG], expect=204)
    assert len(bare_add) == len(big_add) - 1 and len(bare_remove) == len(big_remove) - 1
    assert not any(reads_member_list(s) for s in (*bare_add, *bare_remove))
    # The answer that shows the members reads them: one statement more.
    shown_add, shown_remove = member_patches(
        scim, ctx, big, big_members[BIG], excludedAttributes="displayName"
    )
    assert len(shown_add) == len(big_add) + 1 and len(shown_remove) == len(big_remove) + 1
    assert sum(reads_member_list(s) for s in shown_add) == 1
    count = ctx.read(
        lambda s: len(
            list(s.scalars(select(GroupMember.member_id).where(GroupMember.group_id == big)))
        )
    )
    assert count == BIG


def test_member_patch_answers_and_records_as_any_patch(scim, ctx):
    ada, grace, linus = add_users(ctx, 3, "p")
    group = scim.post(
        "/Groups", {"schemas": [CORE_GROUP], "displayName": "Staff", "members": [{"value": ada}]}
    )
    version = group["meta"]["version"]
    # Asked for no attributes, the answer is 204 No Content (as Entra ID expects).
    assert scim.patch(f"/Groups/{group['id']}", add(grace), expect=204) is None
    shown = {"excludedAttributes": "displayName"}  # an answer that shows the group
    answer = scim.get(f"/Groups/{group['id']}")
    assert [m["value"] for m in answer["members"]] == sorted([ada, grace])
    assert answer["meta"]["version"] != version
    assert scim.last.headers["ETag"] == answer["meta"]["version"]
    # Adding a member again, or removing a non-member, changes nothing.
    again = scim.patch(f"/Groups/{group['id']}", add(grace), **shown)
    assert again["meta"]["version"] == answer["meta"]["version"]
    assert "displayName" not in again and again["members"] == answer["members"]
    same = scim.patch(f"/Groups/{group['id']}", remove(linus), excludedAttributes="members")
    assert "members" not in same and same["meta"]["version"] == answer["meta"]["version"]
    # Entra's remove with a value array, and an add and a remove in one request.
    both = scim.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "Remove", "path": "members", "value": [{"value": ada}]},
            {"op": "Add", "path": "members", "value": [{"value": linus, "type": "User"}]},
        ],
        **shown,
    )
    assert [m["value"] for m in both["members"]] == sorted([grace, linus])
    assert scim.get(f"/Groups/{group['id']}")["members"] == both["members"]
    events = ctx.read(
        lambda s: [
            (e.before, e.after)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "group.update", AuditEvent.object_id == group["id"])
                .order_by(AuditEvent.id)
            )
        ]
    )
    assert events == [
        ({"removedMembers": []}, {"addedMembers": [grace]}),
        ({"removedMembers": [ada]}, {"addedMembers": [linus]}),
    ]
    assert scim.get(f"/Users/{linus}")["groups"][0]["display"] == "Staff"


def test_member_patch_refuses_as_any_patch(scim, ctx):
    (ada,) = add_users(ctx, 1, "r")
    group = scim.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "Staff"})
    path = f"/Groups/{group['id']}"
    unknown = scim.patch(path, add("no-such-user"), expect=400)
    assert unknown["scimType"] == "invalidValue"
    scim.patch(path, add(ada), expect=412, headers={"If-Match": 'W/"99"'})
    scim.patch("/Groups/no-such-group", add(ada), expect=404)
    _, other = ctx.run(
        lambda s: tokens.create(s, "test", name="other", kind=tokens.SCIM, source_name="other")
    )
    ScimClient(scim.client, other).patch(path, add(ada), expect=404)
    assert scim.get(path)["members"] == []
    version = ctx.read(lambda s: s.get(Group, group["id"]).version)
    assert f'W/"{version}"' == group["meta"]["version"]


def _shape(statement: str) -> str:
    """What a statement is, by the start of its text."""
    for start in (
        "BEGIN IMMEDIATE",
        "SELECT groups.version, sources.sync_scope FROM groups JOIN sources",
        "SELECT users.id",
        "INSERT INTO group_members",
        "DELETE FROM group_members",
        "INSERT INTO audit_events",
        "UPDATE groups SET version",
    ):
        if statement.startswith(start):
            return start
    return statement


def test_a_member_patch_sends_one_statement_for_each_thing_it_needs(scim, ctx):
    ada, grace = add_users(ctx, 2, "s")
    group = make_group(ctx, "Staff", [ada])
    path = f"/Groups/{group}"
    scim.get("/Groups", count=0)  # the token's first use writes its last-used time
    version = ctx.read(lambda s: s.get(Group, group).version)
    step = "UPDATE groups SET version"
    if ctx.db.dialect == "postgresql":
        # The row locked and its version stepped in one statement, which brings back the
        # version it had (If-Match) and the source's scope.
        begin, lock, stepped = [], [step], []
    else:
        # The write lock, then the version and the scope; the version is stepped last.
        begin = ["BEGIN IMMEDIATE"]
        lock = ["SELECT groups.version, sources.sync_scope FROM groups JOIN sources"]
        stepped = [step]
    with statements(ctx) as added:
        scim.patch(path, add(grace), expect=204)
    # The members named are looked up before the group's row is locked; the scope
    # (false) decides nobody again; the new row comes back from its insert.
    assert [_shape(s) for s in added] == [
        *begin,
        "SELECT users.id",
        *lock,
        "INSERT INTO group_members",
        "INSERT INTO audit_events",
        *stepped,
    ], added
    checked, locking, inserted = added[len(begin) : len(begin) + 3]
    assert ("FOR UPDATE" in locking) == (ctx.db.dialect == "postgresql"), locking
    assert "UNION ALL SELECT groups.id" in checked
    assert "ON CONFLICT" in inserted and "RETURNING" in inserted
    with statements(ctx) as removed:
        scim.patch(path, remove(ada), expect=204)
    assert [_shape(s) for s in removed] == [
        *begin,
        *lock,
        "DELETE FROM group_members",
        "INSERT INTO audit_events",
        *stepped,
    ], removed
    assert "RETURNING" in removed[len(begin) + len(lock)]
    # One step of the version each, as the ORM's version counter; the ETag follows.
    answer = scim.get(path)
    assert [m["value"] for m in answer["members"]] == [grace]
    assert answer["meta"]["version"] == f'W/"{version + 2}"'
    # A change of nothing leaves no event, and the version and time as they were
    # (PostgreSQL steps them back).
    with statements(ctx) as unchanged:
        scim.patch(path, [*add(grace), *remove(ada)], expect=204)
    assert [_shape(s) for s in unchanged] == [
        *begin,
        "SELECT users.id",
        *lock,
        "DELETE FROM group_members",
        "INSERT INTO group_members",
        *([] if stepped else [step]),
    ], unchanged
    assert scim.get(path)["meta"] == answer["meta"]
    # A stale If-Match stops at the lock, and leaves the version as it was.
    with statements(ctx) as stale:
        scim.patch(path, remove(grace), expect=412, headers={"If-Match": f'W/"{version}"'})
    assert [_shape(s) for s in stale] == [*begin, *lock], stale
    # An unknown member is refused after the group's own checks, as before the lookup
    # moved ahead of the lock: a stale If-Match is still a 412, a missing group a 404.
    scim.patch(path, add("no-such-user"), expect=412, headers={"If-Match": f'W/"{version}"'})
    scim.patch("/Groups/no-such-group", add("no-such-user"), expect=404)
    scim.patch(path, add("no-such-user"), expect=400)
    assert scim.get(path)["meta"] == answer["meta"]
    events = ctx.read(
        lambda s: s.scalars(
            select(AuditEvent.after).where(
                AuditEvent.action == "group.update", AuditEvent.object_id == group
            )
        ).all()
    )
    assert events == [{"addedMembers": [grace]}, {"addedMembers": []}]


@pytest.mark.parametrize(
    ("scope", "decides"),
    [
        (True, False),
        (False, False),
        ('title eq "Engineer"', False),
        ('emails[value co "groups"]', False),
        ('groups.display eq "Staff"', True),
        ("not (urn:ietf:params:scim:schemas:core:2.0:User:groups pr)", True),
    ],
)
def test_members_are_decided_again_only_when_the_scope_reads_groups(scim, ctx, scope, decides):
    (ada,) = add_users(ctx, 1, "d")
    group = make_group(ctx, "Staff", [])
    ctx.run(lambda s: sources.set_sync_scope(s, "test", "idp", scope))
    scim.get("/Groups", count=0)
    with statements(ctx) as seen:
        scim.patch(f"/Groups/{group}", add(ada), expect=204)
    loads_users = any(s.startswith("SELECT users.id, users.source_id") for s in seen)
    assert loads_users == decides, seen
    switch = ctx.read(lambda s: s.get(User, ada).sync_to_contact)
    if isinstance(scope, str) and "groups" in scope and decides:
        assert switch is scope.startswith("groups")  # Staff now; "not ... pr" is false


def test_a_member_change_checks_the_version_it_read(ctx):
    """The write lock makes the version read the current one; if it is not, the change
    is refused as the ORM's version check refuses it, and the attempt is run again.
    (PostgreSQL steps the version with the lock: there is no version to check after.)"""
    if ctx.db.dialect == "postgresql":
        pytest.skip("the version is stepped by the statement that locks the row")
    ctx.run(lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp"))
    (ada,) = add_users(ctx, 1, "v")
    group = make_group(ctx, "Staff", [])

    def work(session: Any) -> None:
        locked = groups.lock(session, sources.by_name(session, "idp").id, group)
        assert locked is not None
        stale = groups.Locked(locked.id, locked.source_id, locked.version + 1, locked.scope)
        named = groups.named_members(session, locked.source_id, [ada])
        groups.change_members(session, "test", stale, named, [])

    with pytest.raises(StaleDataError), ctx.unit_of_work() as session:
        work(session)
    assert ctx.read(lambda s: s.get(Group, group).version) == 1
    assert ctx.read(lambda s: groups.member_ids(s, group)) == []


def test_concurrent_member_patches_of_one_group_lose_no_change(scim, ctx, app):
    """They queue on the group's row: every member arrives, each change one version
    step and one event, and a no-op among them steps nothing."""
    members = add_users(ctx, 12, "c")
    group = make_group(ctx, "Staff", [])

    def work(worker: int) -> None:
        client = ScimClient(app.test_client(), scim.token)
        for member in members[worker * 3 : worker * 3 + 3]:
            client.patch(f"/Groups/{group}", add(member), expect=204)
            client.patch(f"/Groups/{group}", add(member), expect=204)  # changes nothing

    in_threads(work, workers=4)
    answer = scim.get(f"/Groups/{group}")
    assert sorted(m["value"] for m in answer["members"]) == sorted(members)
    assert answer["meta"]["version"] == f'W/"{1 + len(members)}"'
    events = ctx.read(
        lambda s: s.scalars(
            select(AuditEvent.after).where(
                AuditEvent.action == "group.update", AuditEvent.object_id == group
            )
        ).all()
    )
    assert sorted(e["addedMembers"][0] for e in events) == sorted(members)
