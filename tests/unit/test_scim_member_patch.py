"""Which group PATCH bodies are member adds and removes only (the rest take the engine)."""

from __future__ import annotations

from typing import Any

import pytest

from scim.member_patch import MemberChanges, member_changes
from scim.schemas import PATCH_OP


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_adds_and_removes_in_the_shapes_identity_providers_send():
    changes = member_changes(
        body(
            {"op": "Add", "path": "members", "value": [{"value": "a", "$ref": None}]},
            {"op": "remove", "path": 'members[value eq "b"]'},
            {"op": "Remove", "path": "members", "value": [{"value": "c", "type": "User"}]},
        )
    )
    assert changes == MemberChanges(add=("a",), remove=("b", "c"))


def test_the_last_operation_on_a_member_decides():
    changes = member_changes(
        body(
            {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
            {"op": "remove", "path": 'members[value eq "a"]'},
        )
    )
    assert changes == MemberChanges(add=("b",), remove=("a",))


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "members", "value": [{"value": "a"}]},
        {"op": "add", "path": "displayName", "value": "x"},
        {"op": "add", "value": {"members": [{"value": "a"}]}},
        {"op": "remove", "path": "members"},
        {"op": "remove", "path": 'members[display eq "a"]'},
        {"op": "remove", "path": 'members[value eq "a" or value eq "b"]'},
        {"op": "remove", "path": 'members[value eq "a\\"b"]'},
        {"op": "add", "path": "members", "value": []},
        {"op": "add", "path": "members", "value": {"value": "a"}},
        {"op": "add", "path": "members", "value": [{"value": ""}]},
        {"op": "add", "path": "members", "value": [{"value": 7}]},
        {"op": "add", "path": "members", "value": [{"value": "a", "type": "Robot"}]},
        {"op": "add", "path": "members", "value": [{"value": "a", "extra": 1}]},
        {"op": "add", "path": "members", "value": [{"value": "a"}], "x": 1},
    ],
)
def test_anything_else_is_left_to_the_patch_engine(operation):
    assert member_changes(body(operation)) is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"Operations": [{"op": "add", "path": "members", "value": [{"value": "a"}]}]},
        {"schemas": ["urn:other"], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "operations": [], "Operations": []},
    ],
)
def test_a_body_that_is_not_a_plain_patch_op_is_left_to_the_engine(raw):
    assert member_changes(raw) is None
