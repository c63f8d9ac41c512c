"""One page of a filtered list, whether SQL or the evaluator applies the filter.

The SCIM Users and Groups endpoints and the admin API's user list all page
through connector.queries.filtered_page; a filter SQL cannot express (one on
``groups``) must give the same order, total and paging as one it can.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.db.models import User
from connector.errors import InvalidInput
from connector.queries import filtered_page as filtered_page_module
from connector.queries.filtered_page import filtered_page
from connector.queries.user_filter import to_sql
from connector.queries.user_order import user_order
from connector.services import sources, tokens, user_resources, users
from connector.services.context import Context
from scim.filter import parse
from scim.paths import resolve_path
from scim.schemas import USER
from tests.integration.scim_client import ScimClient

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
FAMILY_NAMES = ["Nagy", "Abel", "Zorn", "Abel", "Meyer", "Berg", "Abel", "Otto", "Kern"]


def _create_local_users(ctx: Context) -> None:
    def work(session: Any) -> None:
        local = sources.get_or_create(session, sources.LOCAL, sources.LOCAL)
        for number, family in enumerate(FAMILY_NAMES):
            resource = {
                "schemas": [CORE],
                "userName": f"user{number}",
                "name": {"familyName": family},
                "title": "keeper" if number % 3 else "other",
            }
            users.create(session, "test", local, resource)

    ctx.run(work)


@pytest.mark.parametrize("descending", [False, True])
def test_the_evaluator_pages_exactly_as_sql_does(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, descending: bool
) -> None:
    _create_local_users(ctx)
    monkeypatch.setattr(filtered_page_module, "BATCH", 2)  # several batches for 6 hits
    expr = parse('title eq "keeper"')
    order = user_order(resolve_path(USER, "name.familyName"), descending)

    def pages(session: Any, start: int, count: int) -> tuple[Any, Any]:
        def window(translate: Any) -> Any:
            return filtered_page(
                session,
                User,
                [],
                order,
                start_index=start,
                count=count,
                scim_filter=expr,
                translate=translate,
                view=user_resources.resources,
            )

        assert to_sql(expr) is not None
        return window(to_sql), window(lambda _expr: None)  # SQL, then the evaluator

    for start, count in [(1, 100), (1, 2), (2, 3), (5, 10), (7, 1), (1, 0)]:
        in_sql, in_memory = ctx.run(lambda s, a=start, n=count: pages(s, a, n))
        assert in_memory.total == in_sql.total == 6
        assert [u.id for u in in_memory.rows] == [u.id for u in in_sql.rows], (start, count)
        assert len(in_sql.rows) == max(0, min(count, 6 - start + 1))
    every, _ = ctx.run(lambda s: pages(s, 1, 100))
    families = [u.resource["name"]["familyName"] for u in every.rows]
    assert families == sorted(families, reverse=descending)


def test_a_filter_on_groups_follows_sort_by_and_pages(app: Any, ctx: Context) -> None:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    scim = ScimClient(app.test_client(), secret)
    ids = {}
    for number, family in enumerate(FAMILY_NAMES):
        user = {"schemas": [CORE], "userName": f"u{number}", "name": {"familyName": family}}
        ids[f"u{number}"] = scim.post("/Users", user)["id"]
    members = [{"value": ids[f"u{n}"]} for n in (0, 1, 2, 4, 5)]  # Nagy Abel Zorn Meyer Berg
    scim.post("/Groups", {"schemas": [GROUP], "displayName": "Staff", "members": members})

    def names(**params: Any) -> tuple[int, list[str]]:
        found = scim.get("/Users", filter='groups.display eq "Staff"', **params)
        return found["totalResults"], [r["name"]["familyName"] for r in found["Resources"]]

    assert names(sortBy="name.familyName") == (5, ["Abel", "Berg", "Meyer", "Nagy", "Zorn"])
    assert names(sortBy="name.familyName", sortOrder="descending", startIndex=2, count=2) == (
        5,
        ["Nagy", "Meyer"],
    )
    assert names(count=0) == (5, [])


def test_the_admin_user_list_sees_a_user_as_scim_does(app: Any, ctx: Context, api: Any) -> None:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    scim = ScimClient(app.test_client(), secret)
    staff = scim.post("/Users", {"schemas": [CORE], "userName": "staff.member"})
    scim.post("/Users", {"schemas": [CORE], "userName": "outsider"})
    scim.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": "Staff", "members": [{"value": staff["id"]}]},
    )
    api.create_user("local.one")
    found = api.get("/users", filter='groups.display eq "Staff"')
    assert (found["total"], [u["id"] for u in found["items"]]) == (1, [staff["id"]])
    # Evaluated, yet meta is there as in SCIM (and as the SQL translation reads it).
    either = 'groups pr or meta.resourceType eq "User"'
    assert api.get("/users", filter=either)["total"] == 3
    assert api.get("/users", filter='groups pr and userName sw "out"')["total"] == 0


def test_the_admin_user_list_pages_an_evaluated_filter_by_user_name(api: Any) -> None:
    for name in ("bea", "ann", "bob", "cy", "bart"):
        api.create_user(name)
    # "groups" is not stored with a user: the whole filter goes to the evaluator.
    text = 'userName sw "b" or groups pr'
    page = api.get("/users", filter=text, startIndex=2, count=2)
    assert page["total"] == 3
    assert [u["userName"] for u in page["items"]] == ["bea", "bob"]
    assert api.get("/users", filter=text, source="nowhere")["total"] == 0
    assert api.get("/users", filter="userName zz 1", expect=400)["field"] == "filter"


def test_a_scim_token_is_only_for_a_scim_source(ctx: Context, api: Any) -> None:
    api.create_user("someone")  # creates the "local" source
    refused = api.post("/tokens", {"kind": "scim", "source": "local"}, expect=400)
    assert refused["field"] == "source"
    assert "not a SCIM client" in refused["message"]
    # The command line creates tokens through the same service, so it refuses too.
    with pytest.raises(InvalidInput):
        ctx.run(lambda s: tokens.create(s, "cli", name="x", kind=tokens.SCIM, source_name="local"))
    assert ctx.run(lambda s: tokens.listing(s, kind=tokens.SCIM)) == []


# Orders a page can be in: unique keys, and keys with ties (familyName "Abel" three
# times) or missing values, which the id breaks.
PAGE_ORDERS = [None, "externalId", "name.familyName", "title", "meta.created", "id"]


@pytest.mark.parametrize("sort_by", PAGE_ORDERS)
@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_every_window_of_a_users_list_is_that_slice_of_the_whole_list(
    app: Any, ctx: Context, sort_by: str | None, order: str
) -> None:
    """A page past the first picks its rows' ids first and reads their rows after
    (a deferred join): it must be exactly the slice of the list it stands for."""
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    scim = ScimClient(app.test_client(), secret)
    for number, family in enumerate(FAMILY_NAMES):
        user: dict[str, Any] = {"schemas": [CORE], "userName": f"U{(number * 5) % 9}.{number}"}
        user["name"] = {"familyName": family}
        if number % 3:
            user["externalId"] = f"x{(number * 7) % 9}"
            user["title"] = "keeper" if number % 2 else "other"
        scim.post("/Users", user)
    ctx.run(lambda s: _add_users_elsewhere(s))  # another source's users stay out
    params: dict[str, Any] = {"sortOrder": order}
    if sort_by:
        params["sortBy"] = sort_by
    whole = scim.get("/Users", count=100, **params)
    ids = [r["id"] for r in whole["Resources"]]
    assert whole["totalResults"] == len(ids) == len(FAMILY_NAMES)
    for start in range(1, len(ids) + 2):
        for count in (1, 2, 4):
            page = scim.get("/Users", startIndex=start, count=count, **params)
            assert page["totalResults"] == len(ids)
            assert [r["id"] for r in page["Resources"]] == ids[start - 1 : start - 1 + count], (
                start,
                count,
            )


def _add_users_elsewhere(session: Any) -> None:
    other = sources.get_or_create(session, sources.LOCAL, sources.LOCAL)
    for number in range(4):
        resource = {"schemas": [CORE], "userName": f"U{number}.other", "title": "keeper"}
        users.create(session, "test", other, resource)


def test_every_window_of_the_admin_user_list_and_of_groups_is_their_slice(
    app: Any, ctx: Context, api: Any
) -> None:
    """The deferred join of the ORM's rows: the admin API's users and SCIM groups."""
    for name in ("bea", "ann", "bob", "cy", "bart", "Dora", "al"):
        api.create_user(name)
    names = [u["userName"] for u in api.get("/users", count=100)["items"]]
    assert names == ["al", "ann", "bart", "bea", "bob", "cy", "Dora"]
    for start in range(1, len(names) + 2):
        page = api.get("/users", startIndex=start, count=2)
        assert page["total"] == len(names)
        assert [u["userName"] for u in page["items"]] == names[start - 1 : start + 1]
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    scim = ScimClient(app.test_client(), secret)
    for name in ("beta", "Alpha", "gamma", "alpha2", "Delta"):
        scim.post("/Groups", {"schemas": [GROUP], "displayName": name})
    for order in ("ascending", "descending"):
        whole = [g["id"] for g in scim.get("/Groups", sortOrder=order)["Resources"]]
        assert len(whole) == 5
        for start in range(1, 7):
            page = scim.get("/Groups", startIndex=start, count=2, sortOrder=order)
            assert page["totalResults"] == 5
            assert [g["id"] for g in page["Resources"]] == whole[start - 1 : start + 1]
