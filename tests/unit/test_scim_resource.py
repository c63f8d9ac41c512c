"""Unit tests for scim.resource.validate, the schema-driven resource validator."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scim.errors import ScimError
from scim.resource import validate
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
from scim.user_schema import validate_user

WIDGET_URN = "urn:example:params:scim:schemas:core:1.0:Widget"
GADGET_URN = "urn:example:params:scim:schemas:extension:gadget:1.0:Widget"
WIDGET = ResourceType(
    "Widget",
    "/Widgets",
    "A resource type exercising every attribute type",
    Schema(
        WIDGET_URN,
        "Widget",
        "Widget",
        (
            Attribute("label", required=True),
            Attribute("count", type="integer"),
            Attribute("ratio", type="decimal"),
            Attribute("seen", type="dateTime"),
            Attribute("blob", type="binary"),
            Attribute("home", type="reference", reference_types=("external",)),
            Attribute("tags", multi_valued=True),
            Attribute("serial", mutability="immutable"),
            Attribute("code", mutability="immutable", case_exact=True),
            Attribute(
                "part",
                type="complex",
                sub_attributes=(
                    Attribute("kind", required=True),
                    Attribute("maker", mutability="immutable"),
                ),
            ),
        ),
    ),
    (
        (
            Schema(GADGET_URN, "Gadget", "Gadget", (Attribute("size", type="integer"),)),
            True,
        ),
    ),
)


def widget(**kw: Any) -> dict[str, Any]:
    return {"label": "w", GADGET_URN: {"size": 1}, **kw}


def invalid(resource_type: ResourceType, data: Any, **kw: Any) -> ScimError:
    with pytest.raises(ScimError) as info:
        validate(resource_type, data, **kw)
    assert info.value.status == 400
    return info.value


class TestUser:
    def test_minimal(self) -> None:
        assert validate(USER, {"userName": "bjensen"}) == {
            "schemas": [CORE_USER],
            "userName": "bjensen",
        }

    def test_names_take_schema_spelling(self) -> None:
        result = validate(
            USER,
            {
                "USERNAME": "b",
                "name": {"GivenName": "B"},
                "PhoneNumbers": [{"VALUE": "1", "TYPE": "work"}],
                "ExternalID": "e1",
                ENTERPRISE_USER.upper(): {"COSTCENTER": "4130"},
            },
        )
        assert result == {
            "schemas": [CORE_USER, ENTERPRISE_USER],
            "userName": "b",
            "name": {"givenName": "B"},
            "phoneNumbers": [{"value": "1", "type": "work"}],
            "externalId": "e1",
            ENTERPRISE_USER: {"costCenter": "4130"},
        }

    def test_extensions_listed_in_order(self) -> None:
        result = validate(
            USER,
            {
                "userName": "b",
                CONNECTOR_USER: {"syncToContact": "False"},
                ENTERPRISE_USER: {"department": "D"},
            },
        )
        assert result["schemas"] == [CORE_USER, *sorted([ENTERPRISE_USER, CONNECTOR_USER])]
        assert result[CONNECTOR_USER] == {"syncToContact": False}

    @pytest.mark.parametrize("raw", ["maybe", 1, "1"])
    def test_connector_extension_boolean_checked(self, raw: Any) -> None:
        error = invalid(USER, {"userName": "b", CONNECTOR_USER: {"syncToContact": raw}})
        assert f"{CONNECTOR_USER}:syncToContact" in error.message

    def test_read_only_and_write_only_dropped(self) -> None:
        result = validate(
            USER,
            {
                "userName": "b",
                "id": "1",
                "meta": {"version": 'W/"3"'},
                "groups": [{"value": "g", "display": "G"}],
                "password": "hunter2",
            },
        )
        assert result == {"schemas": [CORE_USER], "userName": "b"}

    def test_manager_display_name_kept(self) -> None:
        # readOnly in RFC 7643 §4.3, but the only source of the "manager" mapping.
        manager = {"value": "m1", "displayName": "Boss"}
        result = validate(USER, {"userName": "b", ENTERPRISE_USER: {"manager": manager}})
        assert result[ENTERPRISE_USER]["manager"] == manager

    def test_user_name_trimmed_and_required(self) -> None:
        assert validate(USER, {"userName": " b "})["userName"] == "b"
        error = invalid(USER, {"userName": " "})
        assert error.scim_type == "invalidValue"
        assert "'userName' is required" in error.message

    @pytest.mark.parametrize(
        "certificate", ["TUlJQ2lUQ0NBZktnQXdJQkFnSUJBREFOQmdr", "TUlJ\nQ2lU Q0NB"]
    )
    def test_binary_accepts_base64(self, certificate: str) -> None:
        result = validate(USER, {"userName": "b", "x509Certificates": [{"value": certificate}]})
        assert result["x509Certificates"] == [{"value": certificate}]

    def test_binary_rejects_non_base64(self) -> None:
        error = invalid(USER, {"userName": "b", "x509Certificates": [{"value": "not base64!"}]})
        assert "'x509Certificates[0].value'" in error.message
        assert "base64" in error.message

    def test_matches_validate_user(self) -> None:
        data = {
            "userName": "b",
            "emails": [{"value": "a", "primary": "True"}],
            ENTERPRISE_USER: {"division": "D"},
        }
        assert validate(USER, data) == validate_user(data)


class TestUnknown:
    def test_attribute_named(self) -> None:
        error = invalid(USER, {"userName": "b", "shoeSize": 42})
        assert error.scim_type == "invalidValue"
        assert "'shoeSize'" in error.message

    def test_sub_attribute_named(self) -> None:
        error = invalid(USER, {"userName": "b", "emails": [{"value": "a", "label": "x"}]})
        assert "'emails[0].label'" in error.message

    def test_undeclared_extension(self) -> None:
        # the enterprise extension belongs to User, not to Group
        error = invalid(GROUP, {"displayName": "g", ENTERPRISE_USER: {"department": "D"}})
        assert error.scim_type == "invalidValue"
        assert ENTERPRISE_USER in error.message

    def test_schemas_with_unknown_urn(self) -> None:
        error = invalid(USER, {"schemas": [CORE_USER, "urn:bogus"], "userName": "b"})
        assert error.scim_type == "invalidValue"
        assert "urn:bogus" in error.message

    def test_schemas_of_another_resource_type(self) -> None:
        error = invalid(USER, {"schemas": [CORE_GROUP], "userName": "b"})
        assert CORE_GROUP in error.message

    @pytest.mark.parametrize("value", [CORE_USER, [1], {"a": CORE_USER}])
    def test_schemas_must_be_list_of_strings(self, value: Any) -> None:
        assert "'schemas'" in invalid(USER, {"schemas": value, "userName": "b"}).message

    def test_known_schemas_accepted_case_insensitively(self) -> None:
        data = {"schemas": [CORE_USER.lower(), ENTERPRISE_USER], "userName": "b"}
        assert validate(USER, data)["schemas"] == [CORE_USER]

    def test_same_attribute_twice(self) -> None:
        error = invalid(USER, {"userName": "a", "USERNAME": "b"})
        assert "'userName' is given more than once" in error.message

    def test_same_sub_attribute_twice(self) -> None:
        error = invalid(USER, {"userName": "a", "name": {"givenName": "a", "GIVENNAME": "b"}})
        assert "'name.givenName'" in error.message

    def test_not_an_object(self) -> None:
        assert invalid(GROUP, ["displayName"]).scim_type == "invalidSyntax"


class TestGroup:
    def test_members_normalised(self) -> None:
        result = validate(
            GROUP,
            {
                "schemas": [CORE_GROUP],
                "id": "g1",
                "displayName": " Tour Guides ",
                "members": [
                    {"Value": "u1", "$ref": "https://x/Users/u1", "type": "User", "display": "B"},
                    {"value": "g2", "type": "Group"},
                ],
            },
        )
        assert result == {
            "schemas": [CORE_GROUP],
            "displayName": "Tour Guides",
            "members": [
                {"value": "u1", "$ref": "https://x/Users/u1", "type": "User"},
                {"value": "g2", "type": "Group"},
            ],
        }

    @pytest.mark.parametrize("data", [{}, {"displayName": ""}, {"displayName": None}])
    def test_display_name_required(self, data: dict[str, Any]) -> None:
        assert "'displayName' is required" in invalid(GROUP, data).message

    @pytest.mark.parametrize("member", [{"display": "B"}, {"value": None, "type": "User"}, {}])
    def test_member_value_required(self, member: dict[str, Any]) -> None:
        error = invalid(GROUP, {"displayName": "g", "members": [{"value": "u1"}, member]})
        assert error.scim_type == "invalidValue"
        assert "'members[1].value' is required" in error.message

    @pytest.mark.parametrize(
        ("members", "where"),
        [
            ({"value": "u1"}, "members"),
            (["u1"], "members[0]"),
            ([{"value": 1}], "members[0].value"),
        ],
    )
    def test_member_types(self, members: Any, where: str) -> None:
        assert f"'{where}'" in invalid(GROUP, {"displayName": "g", "members": members}).message

    def test_empty_members_dropped(self) -> None:
        assert validate(GROUP, {"displayName": "g", "members": []}) == {
            "schemas": [CORE_GROUP],
            "displayName": "g",
        }

    def test_user_attributes_unknown(self) -> None:
        assert "'userName'" in invalid(GROUP, {"displayName": "g", "userName": "u"}).message


class TestTypes:
    def test_all_types_accepted(self) -> None:
        data = widget(
            count=3,
            ratio=0.5,
            seen="2008-01-23T04:56:22.5+02:00",
            blob="AAEC",
            home="https://example.com/w",
            tags=["a", None, "b"],
            part={"kind": "k"},
        )
        result = validate(WIDGET, data)
        assert result == {"schemas": [WIDGET_URN, GADGET_URN], **data, "tags": ["a", "b"]}

    @pytest.mark.parametrize("value", [7, 2.5, -1])
    def test_decimal_accepts_numbers(self, value: float) -> None:
        assert validate(WIDGET, widget(ratio=value))["ratio"] == value

    @pytest.mark.parametrize(
        ("data", "words"),
        [
            ({"count": "3"}, "'count' must be a JSON number of type integer"),
            ({"count": 2.5}, "'count' must be"),
            ({"count": True}, "'count' must be"),
            ({"ratio": "0.5"}, "'ratio' must be a JSON number of type decimal"),
            ({"ratio": False}, "'ratio' must be"),
            ({"ratio": float("nan")}, "'ratio' must be"),
            ({"seen": "2008-01-23"}, "'seen' must be a dateTime"),
            ({"seen": "2008-13-23T04:56:22Z"}, "'seen' must be a dateTime"),
            ({"seen": "yesterday"}, "'seen' must be a dateTime"),
            ({"seen": 1200000000}, "'seen' must be a string"),
            ({"home": 5}, "'home' must be a string"),
            ({"blob": "***"}, "'blob' must be base64"),
            ({"tags": "a"}, "'tags' must be a list"),
            ({"tags": ["a", 1]}, "'tags[1]' must be a string"),
            ({"part": "k"}, "'part' must be an object"),
            ({"part": {"maker": "m"}}, "'part.kind' is required"),
        ],
    )
    def test_wrong_types_rejected(self, data: dict[str, Any], words: str) -> None:
        error = invalid(WIDGET, widget(**data))
        assert error.scim_type == "invalidValue"
        assert words in error.message

    @pytest.mark.parametrize("seen", ["2008-01-23T04:56:22Z", "2008-01-23t04:56:22z"])
    def test_datetime_forms(self, seen: str) -> None:
        assert validate(WIDGET, widget(seen=seen))["seen"] == seen

    def test_required_extension(self) -> None:
        error = invalid(WIDGET, {"label": "w", GADGET_URN: {"size": None}})
        assert GADGET_URN in error.message

    def test_extension_must_be_object(self) -> None:
        error = invalid(WIDGET, {"label": "w", GADGET_URN: 3})
        assert f"'{GADGET_URN}' must be an object" in error.message

    def test_two_primaries(self) -> None:
        emails = [{"value": "a", "primary": True}, {"value": "b", "primary": "TRUE"}]
        error = invalid(USER, {"userName": "b", "emails": emails})
        assert "'emails' has more than one primary value" in error.message


class TestExisting:
    """PUT semantics, RFC 7644 §3.5.1."""

    def stored(self, **kw: Any) -> dict[str, Any]:
        return validate(
            WIDGET, widget(serial="S-1", code="C-1", part={"kind": "k", "maker": "M"}, **kw)
        )

    def test_unchanged_immutable_accepted(self) -> None:
        data = widget(serial="s-1", code="C-1", part={"kind": "x", "maker": "m"})
        result = validate(WIDGET, data, existing=self.stored())
        assert result["serial"] == "s-1"  # caseExact false: same value

    @pytest.mark.parametrize(
        ("change", "where"),
        [
            ({"serial": "S-2"}, "serial"),
            ({"code": "c-1"}, "code"),  # caseExact: a different value
            ({"part": {"kind": "k", "maker": "Other"}}, "part.maker"),
        ],
    )
    def test_changed_immutable_rejected(self, change: dict[str, Any], where: str) -> None:
        base = {"serial": "S-1", "code": "C-1", "part": {"kind": "k", "maker": "M"}}
        error = invalid(WIDGET, widget(**{**base, **change}), existing=self.stored())
        assert error.scim_type == "mutability"
        assert f"'{where}' is immutable" in error.message

    def test_omitted_immutable_kept(self) -> None:
        result = validate(WIDGET, widget(), existing=self.stored())
        assert result["serial"] == "S-1"
        assert result["code"] == "C-1"
        assert "part" not in result  # a readWrite attribute omitted by PUT is cleared

    def test_immutable_set_once(self) -> None:
        result = validate(WIDGET, widget(serial="S-9"), existing=validate(WIDGET, widget()))
        assert result["serial"] == "S-9"

    def test_read_only_differences_ignored(self) -> None:
        existing = {"schemas": [CORE_USER], "id": "1", "userName": "a", "meta": {"version": "1"}}
        result = validate(
            USER, {"id": "2", "userName": "b", "meta": {"version": "9"}}, existing=existing
        )
        assert result == {"schemas": [CORE_USER], "userName": "b"}

    def test_member_type_immutable(self) -> None:
        existing = validate(
            GROUP, {"displayName": "g", "members": [{"value": "u1", "type": "User"}]}
        )
        error = invalid(
            GROUP,
            {"displayName": "g", "members": [{"value": "u1", "type": "Group"}]},
            existing=existing,
        )
        assert error.scim_type == "mutability"
        assert "'members.type'" in error.message

    def test_members_added_and_removed(self) -> None:
        existing = validate(
            GROUP, {"displayName": "g", "members": [{"value": "u1", "type": "User"}]}
        )
        members = [{"value": "u2", "type": "Group"}]
        result = validate(GROUP, {"displayName": "g", "members": members}, existing=existing)
        assert result["members"] == members

    def test_only_immutable_values_carried_over(self) -> None:
        stored = {"label": "w", GADGET_URN: {"size": 1}, "serial": "S", "tags": ["a"]}
        result = validate(WIDGET, widget(), existing=stored)
        assert result["serial"] == "S"
        assert "tags" not in result


class TestCopies:
    def test_input_not_mutated_and_result_independent(self) -> None:
        data = {
            "displayName": " g ",
            "members": [{"value": "u1", "display": "B"}],
            "meta": {"version": "1"},
        }
        snapshot = copy.deepcopy(data)
        result = validate(GROUP, data)
        assert data == snapshot
        result["members"][0]["value"] = "changed"
        assert data == snapshot


_text = st.text(min_size=1, max_size=8)
_email = st.fixed_dictionaries(
    {"value": _text},
    optional={"type": st.sampled_from(["work", "home"]), "primary": st.just(False)},
)
_users = st.fixed_dictionaries(
    {"userName": _text.filter(str.strip)},
    optional={
        "displayName": _text,
        "active": st.sampled_from([True, False, "True", "false"]),
        "emails": st.lists(_email, max_size=3),
        "name": st.fixed_dictionaries({}, optional={"givenName": _text, "familyName": _text}),
        ENTERPRISE_USER: st.fixed_dictionaries({}, optional={"department": _text}),
        "password": _text,
    },
)


@given(_users)
def test_validation_is_idempotent(data: dict[str, Any]) -> None:
    once = validate(USER, data)
    assert validate(USER, once) == once
    assert "password" not in once
    assert once["schemas"][0] == CORE_USER
    assert isinstance(once.get("active", True), bool)
