"""Unit tests for scim.projection: ``returned`` and attributes/excludedAttributes."""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim import projection
from scim.projection import parse_attribute_list, project
from scim.schemas import (
    CONNECTOR_USER,
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    GROUP,
    USER,
    Attribute,
    ResourceType,
    Schema,
)

EXT = ENTERPRISE_USER


def user() -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, EXT, CONNECTOR_USER],
        "id": "u1",
        "userName": "bjensen",
        "password": "hunter2",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs",
        "emails": [
            {"value": "b@work", "type": "work", "primary": True},
            {"value": "b@home", "type": "home"},
        ],
        EXT: {"department": "Tours", "manager": {"value": "m1", "displayName": "Boss"}},
        CONNECTOR_USER: {"syncToContact": True},
        "meta": {"resourceType": "User", "created": "2020-01-01T00:00:00Z", "version": "1"},
    }


def shaped(**kw: Any) -> dict[str, Any]:
    return project(user(), USER, **kw)


class TestParseAttributeList:
    @pytest.mark.parametrize("text", [None, "", "  ", " , ,"])
    def test_empty(self, text: str | None) -> None:
        assert parse_attribute_list(text) is None

    def test_split_and_trimmed(self) -> None:
        assert parse_attribute_list(" userName, name.givenName ,,emails ") == [
            "userName",
            "name.givenName",
            "emails",
        ]

    def test_urn_paths_kept_whole(self) -> None:
        assert parse_attribute_list(f"{EXT}:department,id") == [f"{EXT}:department", "id"]


class TestDefault:
    def test_everything_but_password(self) -> None:
        expected = user()
        del expected["password"]
        assert shaped() == expected

    def test_empty_lists_mean_default(self) -> None:
        assert shaped(attributes=[], excluded=[]) == shaped()

    def test_always_complex_attribute_returned_whole(self) -> None:
        schema = Schema(
            "urn:example:Thing",
            "Thing",
            "",
            (
                Attribute(
                    "badge",
                    type="complex",
                    returned="always",
                    sub_attributes=(Attribute("code"), Attribute("pin", returned="never")),
                ),
                Attribute("plain"),
            ),
        )
        thing = ResourceType("Thing", "/Things", "", schema)
        resource = {"id": "t", "badge": {"code": "c", "pin": "1"}, "plain": "p"}
        for kw in ({"attributes": ["plain"]}, {"excluded": ["badge.code"]}):
            result = project(resource, thing, **kw)
            assert result["badge"] == {"code": "c"}

    def test_request_attribute_only_when_asked(self) -> None:
        schema = Schema(
            "urn:example:Thing",
            "Thing",
            "",
            (Attribute("secretive", returned="request"), Attribute("plain")),
        )
        thing = ResourceType("Thing", "/Things", "", schema)
        resource = {"id": "t", "secretive": "s", "plain": "p"}
        assert project(resource, thing) == {"id": "t", "plain": "p"}
        assert project(resource, thing, attributes=["SECRETIVE"]) == {"id": "t", "secretive": "s"}


class TestAttributes:
    def test_always_attributes_added(self) -> None:
        assert shaped(attributes=["displayName"]) == {
            "schemas": [CORE_USER],
            "id": "u1",
            "userName": "bjensen",
            "displayName": "Babs",
        }

    def test_sub_attributes(self) -> None:
        result = shaped(attributes=["name.givenName", "emails.value", "meta.created"])
        assert result["name"] == {"givenName": "Barbara"}
        assert result["emails"] == [{"value": "b@work"}, {"value": "b@home"}]
        assert result["meta"] == {"created": "2020-01-01T00:00:00Z"}
        assert "displayName" not in result

    def test_whole_complex_attribute(self) -> None:
        assert shaped(attributes=["name"])["name"] == user()["name"]

    def test_case_insensitive(self) -> None:
        result = shaped(attributes=["NAME.GIVENNAME", "DisplayName", EXT.upper() + ":Department"])
        assert result["name"] == {"givenName": "Barbara"}
        assert result["displayName"] == "Babs"
        assert result[EXT] == {"department": "Tours"}

    def test_whole_extension(self) -> None:
        result = shaped(attributes=[EXT])
        assert result[EXT] == user()[EXT]
        assert result["schemas"] == [CORE_USER, EXT]
        assert CONNECTOR_USER not in result

    def test_extension_sub_attribute(self) -> None:
        result = shaped(attributes=[f"{EXT}:manager.value"])
        assert result[EXT] == {"manager": {"value": "m1"}}

    def test_core_urn_prefix(self) -> None:
        result = shaped(attributes=[f"{CORE_USER}:name.familyName"])
        assert result["name"] == {"familyName": "Jensen"}

    def test_password_never(self) -> None:
        assert "password" not in shaped(attributes=["password", "userName"])

    def test_unknown_paths_match_nothing(self) -> None:
        result = shaped(attributes=["shoeSize", "urn:bogus:thing", 'emails[type eq "work"]'])
        assert result == {"schemas": [CORE_USER], "id": "u1", "userName": "bjensen"}

    def test_items_left_empty_are_dropped(self) -> None:
        resource = {**user(), "emails": [{"value": "a", "primary": True}, {"value": "b"}]}
        result = project(resource, USER, attributes=["emails.primary"])
        assert result["emails"] == [{"primary": True}]

    def test_stored_empty_values_kept(self) -> None:
        group = {"schemas": [CORE_GROUP], "id": "g1", "displayName": "G", "members": []}
        assert project(group, GROUP) == group
        assert project(group, GROUP, attributes=["members"])["members"] == []
        assert project(group, GROUP, attributes=["members.value"])["members"] == []

    def test_wins_over_excluded(self) -> None:
        both = shaped(attributes=["displayName"], excluded=["displayName", "userName"])
        assert both == shaped(attributes=["displayName"])

    def test_group_display_name_not_always(self) -> None:
        group = {
            "schemas": [CORE_GROUP],
            "id": "g1",
            "displayName": "G",
            "members": [{"value": "u1", "display": "B"}],
        }
        assert project(group, GROUP, attributes=["members.value"]) == {
            "schemas": [CORE_GROUP],
            "id": "g1",
            "members": [{"value": "u1"}],
        }


class TestExcluded:
    def test_always_attributes_stay(self) -> None:
        result = shaped(excluded=["id", "userName", "schemas", "displayName"])
        assert result["id"] == "u1"
        assert result["userName"] == "bjensen"
        assert result["schemas"] == [CORE_USER, EXT, CONNECTOR_USER]
        assert "displayName" not in result

    def test_sub_attribute(self) -> None:
        result = shaped(excluded=["name.familyName", "emails.type", "meta.version"])
        assert result["name"] == {"givenName": "Barbara"}
        assert result["emails"] == [
            {"value": "b@work", "primary": True},
            {"value": "b@home"},
        ]
        assert result["meta"] == {"resourceType": "User", "created": "2020-01-01T00:00:00Z"}

    def test_whole_extension_and_its_urn(self) -> None:
        result = shaped(excluded=[EXT.lower()])
        assert EXT not in result
        assert result["schemas"] == [CORE_USER, CONNECTOR_USER]
        assert result[CONNECTOR_USER] == {"syncToContact": True}

    def test_extension_attribute(self) -> None:
        result = shaped(excluded=[f"{EXT}:manager"])
        assert result[EXT] == {"department": "Tours"}

    def test_meta(self) -> None:
        result = shaped(excluded=["Meta"])
        assert "meta" not in result
        assert result["name"] == user()["name"]


class TestCopies:
    def test_input_untouched_and_output_independent(self) -> None:
        resource = user()
        snapshot = copy.deepcopy(resource)
        result = project(resource, USER, attributes=["emails", EXT])
        result["emails"][0]["value"] = "x"
        result["schemas"].append("y")
        result[EXT]["manager"]["value"] = "z"
        assert resource == snapshot
        assert project(resource, USER, excluded=[EXT]) is not resource
        assert resource == snapshot


def test_default_shape_of_a_member_list_is_the_list_and_drops_null_items():
    members = [{"value": f"u{i}", "display": f"U{i}", "type": "User"} for i in range(3)]
    group = {"schemas": [CORE_GROUP], "id": "g1", "displayName": "G", "members": members}
    assert project(group, GROUP)["members"] == members
    with_null = {**group, "members": [members[0], None, members[1]]}
    assert project(with_null, GROUP)["members"] == [members[0], members[1]]
    trimmed = project(group, GROUP, excluded=["members.display"])["members"]
    assert trimmed == [{"value": m["value"], "type": "User"} for m in members]


_NAMES = st.sampled_from(
    [
        "userName", "password", "emails", "groups", "name", "active", "meta", "id",
        "x509Certificates", "unknownThing", "Emails", "PASSWORD", EXT, CONNECTOR_USER,
    ]
)  # fmt: skip
_LEAVES = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.integers())
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["value", "type", "display", "manager", "x"]), inner),
    ),
    max_leaves=8,
)


@given(st.dictionaries(_NAMES, _VALUES, max_size=8), st.sampled_from([USER, GROUP]))
@settings(max_examples=300, deadline=None)
def test_the_default_shape_decided_once_per_name_is_the_general_rule(
    resource: dict[str, Any], resource_type: ResourceType
) -> None:
    """project() decides the default shape of a top-level name once and remembers it;
    the answer equals the general path's, which decides every attribute each time."""
    resource = {"schemas": [resource_type.schema.id], **resource}
    with mock.patch.object(projection, "_default_action", return_value=projection._DECIDE):
        general = project(copy.deepcopy(resource), resource_type)
    assert project(copy.deepcopy(resource), resource_type) == general
    assert project(copy.deepcopy(resource), resource_type) == general  # remembered
