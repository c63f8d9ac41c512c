"""The SCIM service without a web framework: a dict-backed store, explicit callers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scim import schemas
from scim.errors import ScimError
from scim.filter import matches
from scim.input_limits import MAX_INDEX
from scim.service import (
    Call,
    ScimService,
    ServiceConfig,
    bearer_caller,
    error_reply,
    parse_json,
    refuse_unstorable_request,
    search_params,
)
from scim.store import Page, Query, Resource, Transform

ROOT = Path(__file__).resolve().parents[2]
CALL = Call(caller="tenant-a", base_url="https://example.test/scim/v2")


class DictStore:
    """Resources per caller; records which caller each call came from."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Resource]] = {}
        self.callers: list[Any] = []
        self.next_id = 0

    def _mine(self, caller: Any) -> dict[str, Resource]:
        self.callers.append(caller)
        return self.data.setdefault(caller, {})

    def search(self, caller: Any, query: Query) -> Page:
        hits = [
            r
            for r in self._mine(caller).values()
            if query.filter is None or matches(query.filter, r)
        ]
        start = query.start_index - 1
        return Page(hits[start : start + query.count], len(hits))

    def get(self, caller: Any, resource_id: str) -> Resource:
        found = self._mine(caller).get(resource_id)
        if found is None:
            raise ScimError(f"no resource {resource_id!r}", status=404)
        return found

    def create(self, caller: Any, resource: Resource) -> Resource:
        self.next_id += 1
        stored = {**resource, "id": str(self.next_id), "meta": {"version": 'W/"1"'}}
        self._mine(caller)[stored["id"]] = stored
        return stored

    def update(
        self, caller: Any, resource_id: str, transform: Transform, if_match: str | None
    ) -> Resource:
        current = self.get(caller, resource_id)
        new = {**transform(current), "id": resource_id, "meta": {"version": 'W/"2"'}}
        self._mine(caller)[resource_id] = new
        return new

    def delete(self, caller: Any, resource_id: str, if_match: str | None) -> None:
        self.get(caller, resource_id)
        del self._mine(caller)[resource_id]


@pytest.fixture
def stores() -> tuple[DictStore, DictStore]:
    return DictStore(), DictStore()


@pytest.fixture
def service(stores: tuple[DictStore, DictStore]) -> ScimService:
    users, groups = stores
    return ScimService(users=users, groups=groups, config=ServiceConfig(max_results=10))


def test_no_module_but_the_adapter_imports_flask() -> None:
    modules = sorted(
        f"scim.{p.stem}"
        for p in (ROOT / "scim").glob("*.py")
        if p.stem not in {"__init__", "flask_adapter"}
    )
    probe = (
        "import sys\n"
        f"for name in {modules!r}:\n"
        "    __import__(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'werkzeug'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_create_reaches_the_store_for_the_given_caller(
    service: ScimService, stores: tuple[DictStore, DictStore]
) -> None:
    users = service.endpoint("Users")
    reply = service.post(CALL, users, {"schemas": [schemas.CORE_USER], "userName": "ada"}, {})
    assert reply.status == 201
    assert reply.headers["Location"] == "https://example.test/scim/v2/Users/1"
    assert reply.body["meta"]["location"] == reply.headers["Location"]
    assert stores[0].callers == ["tenant-a"]


def test_a_list_is_a_list_response_and_pages(service: ScimService) -> None:
    users = service.endpoint("Users")
    for name in ("ada", "bob", "cy"):
        service.create(CALL, users, {"schemas": [schemas.CORE_USER], "userName": name})
    reply = service.search(CALL, users, {"count": "2", "startIndex": "2"})
    assert reply.body["schemas"] == [schemas.LIST_RESPONSE]
    assert reply.body["totalResults"] == 3
    assert [r["userName"] for r in reply.body["Resources"]] == ["bob", "cy"]


def test_get_with_the_current_etag_is_not_modified(service: ScimService) -> None:
    users = service.endpoint("Users")
    created = service.create(CALL, users, {"schemas": [schemas.CORE_USER], "userName": "ada"})
    reply = service.get(CALL, users, created["id"], {}, 'W/"1"')
    assert (reply.status, reply.body, reply.headers) == (304, None, {"ETag": 'W/"1"'})


def test_bulk_runs_every_operation_for_the_caller_it_is_given(
    service: ScimService, stores: tuple[DictStore, DictStore]
) -> None:
    body = {
        "schemas": [schemas.BULK_REQUEST],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u",
                "data": {"schemas": [schemas.CORE_USER], "userName": "ada"},
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [schemas.CORE_GROUP],
                    "displayName": "team",
                    "members": [{"value": "bulkId:u"}],
                },
            },
            {"method": "DELETE", "path": "/Users/missing"},
        ],
    }
    reply = service.bulk(CALL, body)
    assert [op["status"] for op in reply.body["Operations"]] == ["201", "201", "404"]
    group = next(iter(stores[1].data["tenant-a"].values()))
    assert group["members"][0]["value"] == "1"
    assert set(stores[0].callers) | set(stores[1].callers) == {"tenant-a"}


def test_discovery_endpoints_are_not_resource_endpoints(service: ScimService) -> None:
    with pytest.raises(ScimError) as caught:
        service.endpoint("Schemas")
    assert caught.value.status == 405
    with pytest.raises(ScimError) as caught:
        service.endpoint("Nothing")
    assert caught.value.status == 404


def test_bearer_caller_and_the_401_it_answers() -> None:
    tokens = {"secret": "tenant-a"}
    assert bearer_caller("Bearer secret", tokens.get) == "tenant-a"
    for header in ("", "Basic secret", "Bearer wrong", "Bearer "):
        with pytest.raises(ScimError) as caught:
            bearer_caller(header, tokens.get)
        reply = error_reply(caught.value)
        assert reply.status == 401
        assert reply.headers == {"WWW-Authenticate": 'Bearer realm="scim"'}
        assert reply.body["schemas"] == [schemas.ERROR]


@pytest.mark.parametrize(
    ("text", "scim_type"),
    [
        ("", "invalidSyntax"),
        ("[" * 65 + "]" * 65, "invalidSyntax"),
        ('{"userName": NaN}', "invalidSyntax"),
        ('{"userName": "a\\u0000"}', "invalidValue"),
        ('{"userName": "\\ud800"}', "invalidValue"),
    ],
)
def test_bodies_are_read_under_the_input_limits(text: str, scim_type: str) -> None:
    with pytest.raises(ScimError) as refused:
        parse_json(text)
    assert (refused.value.status, refused.value.scim_type) == (400, scim_type)


def test_paging_parameters_are_clamped(service: ScimService) -> None:
    query = service.query({"startIndex": "18446744073709551616", "count": 10**30})
    assert (query.start_index, query.count) == (MAX_INDEX, 10)
    assert service.query({"startIndex": "-5", "count": "-5"}).start_index == 1
    with pytest.raises(ScimError, match="startIndex must be an integer"):
        service.query({"startIndex": "1.5"})
    with pytest.raises(ScimError) as refused:
        service.query({"filter": ["not", "text"]})
    assert refused.value.scim_type == "invalidFilter"


def test_an_id_or_parameter_with_nul_or_a_surrogate_is_refused() -> None:
    with pytest.raises(ScimError) as missing:
        refuse_unstorable_request(["Users", "a\x00"], [])
    assert missing.value.status == 404
    with pytest.raises(ScimError) as bad:
        refuse_unstorable_request(["Users"], [("filter", 'userName eq "\udfff"')])
    assert (bad.value.status, bad.value.scim_type) == (400, "invalidValue")
    assert bad.value.message.startswith("'filter' contains a lone surrogate (U+DFFF)")
    assert "\udfff" not in bad.value.message
    refuse_unstorable_request(["Users", "1"], [("filter", 'userName eq "ok"')])


@pytest.mark.parametrize(
    ("member", "value", "scim_type"),
    [
        ("filter", {"userName": "x"}, "invalidFilter"),
        ("filter", 7, "invalidFilter"),
        ("sortBy", ["userName"], "invalidValue"),
        ("sortOrder", True, "invalidValue"),
        ("attributes", [1, 2], "invalidValue"),
        ("excludedAttributes", {"a": 1}, "invalidValue"),
    ],
)
def test_a_search_request_member_of_the_wrong_type_is_a_400(
    member: str, value: object, scim_type: str
) -> None:
    with pytest.raises(ScimError) as info:
        search_params({member: value})
    assert (info.value.status, info.value.scim_type) == (400, scim_type)
