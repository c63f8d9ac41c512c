"""The contact listing: sort orders, keyset paging (cursor) and offset paging agree."""

from __future__ import annotations

import pytest

ORDERS = [
    (sort_by, order)
    for sort_by in ("name", "email", "updated")
    for order in ("ascending", "descending")
]


@pytest.fixture
def book(api):
    """Eleven contacts: manual ones (some without an e-mail, one sharing a name) and
    synchronised ones, with names and addresses in no particular order."""
    people = [
        ("Zoe", "Adams", "zoe@example.com"),
        ("Ann", "Young", "Ann.Young@example.com"),
        ("Bob", "Miller", None),
        ("Eve", "Miller", "eve@example.com"),
        ("Max", "Ölund", "max@example.com"),
        ("Kim", "Baker", None),
        ("Joe", "Carter", "joe@example.com"),
    ]
    for first, last, email in people:
        fields = {"firstName": first, "lastName": last}
        if email:
            fields["email"] = email
        api.post("/contacts", {"fields": fields}, expect=201)
    for name in ("sam", "lee", "ray", "dan"):
        api.create_user(
            f"{name}@corp.example",
            sync=True,
            name={"givenName": name.title(), "familyName": f"Corp{name}"},
            emails=[{"type": "work", "value": f"{name}@corp.example"}],
        )
    return api


def _walk(api, count, **params):
    """Every page through nextCursor; the pages' startIndex as they come."""
    seen, starts = [], []
    page = api.get("/contacts", count=count, **params)
    while True:
        starts.append(page["startIndex"])
        seen.extend(c["id"] for c in page["items"])
        if page["nextCursor"] is None:
            return seen, starts, page["total"]
        page = api.get("/contacts", count=count, cursor=page["nextCursor"], **params)


@pytest.mark.parametrize(("sort_by", "order"), ORDERS)
@pytest.mark.parametrize("managed", [None, "true"])
def test_cursor_pages_cover_each_contact_once_in_the_order_of_offset_pages(
    book, sort_by, order, managed
):
    params = {"sortBy": sort_by, "sortOrder": order}
    if managed:
        params["managed"] = managed
    everything = book.get("/contacts", count=100, **params)
    expected = [c["id"] for c in everything["items"]]
    assert len(expected) == everything["total"] == {None: 11, "true": 4}[managed]
    assert everything["nextCursor"] is None
    seen, starts, total = _walk(book, 3, **params)
    assert seen == expected and total == len(expected)
    assert starts == list(range(1, len(expected) + 1, 3))
    by_offset = [
        c["id"]
        for start in range(1, len(expected) + 1, 3)
        for c in book.get("/contacts", count=3, startIndex=start, **params)["items"]
    ]
    assert by_offset == expected
    # An offset page also hands out the cursor of the page after it.
    middle = book.get("/contacts", count=2, startIndex=2, **params)
    after = book.get("/contacts", count=2, cursor=middle["nextCursor"], **params)
    assert after["startIndex"] == 4
    assert [c["id"] for c in after["items"]] == expected[3:5]


def _names(page):
    return [c["fields"]["lastName"] for c in page["items"]]


def test_each_sort_order_means_what_it_says(book):
    by_name = book.get("/contacts", managed="false")
    assert _names(by_name) == ["Adams", "Baker", "Carter", "Miller", "Miller", "Young", "Ölund"]
    assert [c["fields"]["firstName"] for c in by_name["items"]][3:5] == ["Bob", "Eve"]
    by_email = book.get("/contacts", managed="false", sortBy="email")
    # Case does not matter; contacts without an e-mail come after every address.
    assert [c["fields"].get("email") for c in by_email["items"]] == [
        "Ann.Young@example.com",
        "eve@example.com",
        "joe@example.com",
        "max@example.com",
        "zoe@example.com",
        None,
        None,
    ]
    down = book.get("/contacts", managed="false", sortBy="email", sortOrder="descending")
    assert [c["id"] for c in down["items"]] == [c["id"] for c in by_email["items"]][::-1]
    carter = next(c for c in by_name["items"] if c["fields"]["lastName"] == "Carter")
    book.patch(f"/contacts/{carter['id']}", {"fields": {"jobTitle": "Chef"}}, expect=200)
    newest = book.get("/contacts", sortBy="updated", sortOrder="descending", count=1)
    assert newest["items"][0]["id"] == carter["id"]
    oldest = book.get("/contacts", sortBy="updated", count=1)
    assert oldest["items"][0]["fields"]["lastName"] == "Adams"


def test_a_synchronised_contact_changes_its_place_when_its_user_changes(book):
    users = book.get("/users", filter='userName eq "sam@corp.example"')["items"]
    book.patch(
        f"/users/{users[0]['id']}",
        {"emails": [{"type": "work", "value": "aaa@corp.example"}]},
        expect=200,
    )
    first = book.get("/contacts", sortBy="email", count=1)["items"][0]
    assert first["fields"]["email"] == "aaa@corp.example"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sortBy": "phone"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "eyJzIjoibmFtZSJ9"}, "cursor"),  # {"s":"name"}: no position
        ({"cursor": "W10"}, "cursor"),  # []
    ],
)
def test_bad_sorting_and_cursors_are_refused_by_name(book, params, field):
    answer = book.call("GET", "/contacts", expect=400, **params)
    assert answer["field"] == field


def _cursor(position):
    import base64
    import json

    raw = json.dumps(position).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort_by", "key"),
    [
        ("name", "a\u0000b"),
        ("name", "\ud800"),
        ("email", 5),
        ("updated", "yesterday"),
        ("updated", "0001-01-01T00:00:00+05:00"),
    ],
)
def test_a_tampered_cursor_is_refused_not_an_error(book, sort_by, key):
    cursor = _cursor({"s": sort_by, "d": False, "k": key, "i": "x", "n": 3})
    answer = book.call("GET", "/contacts", expect=400, cursor=cursor, sortBy=sort_by)
    assert answer["field"] == "cursor"


def test_a_cursor_of_another_order_is_refused(book):
    cursor = book.get("/contacts", count=2)["nextCursor"]
    answer = book.call("GET", "/contacts", expect=400, cursor=cursor, sortBy="email")
    assert answer["field"] == "cursor" and "another sort order" in answer["message"]
    answer = book.call("GET", "/contacts", expect=400, cursor=cursor, sortOrder="descending")
    assert answer["field"] == "cursor"
