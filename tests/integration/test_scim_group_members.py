"""A group PATCH that only adds or removes members writes those rows, whatever the size.

The statements of a one-member add and remove are caught with an engine event
and compared between a group of one member and one of 2,000: the same number,
and none reads the member list unless the answer shows it. The answers, the
version, the audit and the errors are those of any PATCH.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from connector.db.models import AuditEvent, Group, GroupMember
from connector.services import groups, sources, tokens, users
from connector.services.context import Context
from tests.integration.scim_client import ScimClient

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


@contextmanager
def statements(ctx: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() != caller:
            return  # the job runner's polls
        seen.append(" ".join(statement.split()))

    caller = threading.get_ident()  # the test client answers in this thread
    event.listen(ctx.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", record)


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
    # As Entra ID sends it (no parameters): 204, and the member list is not read either.
    bare_add, bare_remove = member_patches(scim, ctx, big, big_members[BIG], expect=204)
    assert len(bare_add) == len(big_add) and len(bare_remove) == len(big_remove)
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
