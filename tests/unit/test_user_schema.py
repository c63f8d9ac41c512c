"""Unit tests for scim.user_schema.validate_user."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scim.errors import ScimError
from scim.filter import CORE_USER_URN, ENTERPRISE_URN
from scim.user_schema import BOOLEAN, STRING, validate_user


def invalid(data: Any, **kw: Any) -> ScimError:
    with pytest.raises(ScimError) as info:
        validate_user(data, **kw)
    assert info.value.status == 400
    return info.value


class TestUserName:
    def test_minimal_user(self) -> None:
        assert validate_user({"userName": "bjensen"}) == {
            "userName": "bjensen",
            "schemas": [CORE_USER_URN],
        }

    def test_user_name_is_trimmed(self) -> None:
        assert validate_user({"userName": "  bjensen \t"})["userName"] == "bjensen"

    @pytest.mark.parametrize(
        "data", [{}, {"userName": ""}, {"userName": "   "}, {"userName": None}]
    )
    def test_user_name_required(self, data: dict[str, Any]) -> None:
        error = invalid(data)
        assert error.scim_type == "invalidValue"
        assert "userName" in error.message

    @pytest.mark.parametrize("value", [5, True, ["a"], {"a": 1}])
    def test_user_name_must_be_string(self, value: Any) -> None:
        error = invalid({"userName": value})
        assert "userName" in error.message
        assert "string" in error.message

    @pytest.mark.parametrize("data", [[], "user", None, 3])
    def test_not_an_object(self, data: Any) -> None:
        assert invalid(data).scim_type == "invalidSyntax"


class TestAttributes:
    def test_full_user_kept(self) -> None:
        data = {
            "schemas": [CORE_USER_URN],
            "userName": "bjensen",
            "externalId": "ext-1",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs",
            "active": True,
            "emails": [{"value": "b@example.com", "type": "work", "primary": True}],
            "addresses": [{"type": "work", "locality": "Berlin", "primary": False}],
            "profileUrl": "https://example.com/b",
        }
        result = validate_user(data)
        expected = {k: v for k, v in data.items() if k != "schemas"}
        assert {k: v for k, v in result.items() if k != "schemas"} == expected
        assert result["schemas"] == [CORE_USER_URN]

    def test_unknown_attribute_rejected_by_name(self) -> None:
        error = invalid({"userName": "x", "favouriteColour": "blue"})
        assert error.scim_type == "invalidValue"
        assert "favouriteColour" in error.message

    def test_unknown_sub_attribute_rejected_by_name(self) -> None:
        error = invalid({"userName": "x", "name": {"givenName": "a", "nick": "b"}})
        assert "name.nick" in error.message

    def test_unknown_sub_attribute_in_multi_valued(self) -> None:
        error = invalid({"userName": "x", "emails": [{"value": "a"}, {"value": "b", "foo": 1}]})
        assert "emails[1].foo" in error.message

    def test_case_insensitive_names_normalised(self) -> None:
        result = validate_user(
            {
                "USERNAME": "bj",
                "Name": {"GIVENNAME": "B", "familyname": "J"},
                "EMAILS": [{"VALUE": "a@b.c", "Type": "work", "Primary": True}],
                "displayname": "Babs",
                "ACTIVE": False,
            }
        )
        assert result == {
            "userName": "bj",
            "name": {"givenName": "B", "familyName": "J"},
            "emails": [{"value": "a@b.c", "type": "work", "primary": True}],
            "displayName": "Babs",
            "active": False,
            "schemas": [CORE_USER_URN],
        }

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("True", True), ("False", False), ("true", True), ("FALSE", False), (True, True)],
    )
    def test_boolean_strings_accepted(self, raw: Any, expected: bool) -> None:
        assert validate_user({"userName": "x", "active": raw})["active"] is expected

    def test_boolean_strings_in_sub_attributes(self) -> None:
        result = validate_user(
            {
                "userName": "x",
                "emails": [{"value": "a", "primary": "True"}, {"value": "b", "primary": "False"}],
            }
        )
        assert [e["primary"] for e in result["emails"]] == [True, False]

    @pytest.mark.parametrize("raw", ["yes", "1", 1, 0, "", []])
    def test_bad_booleans_rejected(self, raw: Any) -> None:
        error = invalid({"userName": "x", "active": raw})
        assert "active" in error.message
        assert "true or false" in error.message

    @pytest.mark.parametrize(
        ("data", "where"),
        [
            ({"displayName": 5}, "displayName"),
            ({"title": ["a"]}, "title"),
            ({"name": "Barbara"}, "name"),
            ({"name": {"givenName": 1}}, "name.givenName"),
            ({"emails": {"value": "a"}}, "emails"),
            ({"emails": "a@b.c"}, "emails"),
            ({"emails": ["a@b.c"]}, "emails[0]"),
            ({"emails": [{"value": 5}]}, "emails[0].value"),
            (
                {"phoneNumbers": [{"value": "1"}, {"value": "2", "primary": "maybe"}]},
                "phoneNumbers[1].primary",
            ),
            ({"addresses": [{"postalCode": 12345}]}, "addresses[0].postalCode"),
            ({"externalId": 7}, "externalId"),
        ],
    )
    def test_wrong_types_rejected(self, data: dict[str, Any], where: str) -> None:
        error = invalid({"userName": "x", **data})
        assert error.scim_type == "invalidValue"
        assert f"'{where}'" in error.message

    def test_null_values_dropped(self) -> None:
        result = validate_user(
            {"userName": "x", "title": None, "name": {"givenName": None}, "emails": None}
        )
        assert result == {"userName": "x", "schemas": [CORE_USER_URN]}

    def test_empty_containers_dropped(self) -> None:
        result = validate_user({"userName": "x", "name": {}, "emails": []})
        assert result == {"userName": "x", "schemas": [CORE_USER_URN]}

    def test_input_not_mutated(self) -> None:
        data = {
            "userName": " x ",
            "Name": {"GivenName": "a"},
            "emails": [{"value": "a", "primary": "True"}],
            "password": "secret",
            ENTERPRISE_URN: {"Department": "D"},
        }
        snapshot = copy.deepcopy(data)
        result = validate_user(data)
        assert data == snapshot
        result["emails"][0]["value"] = "changed"
        assert data == snapshot


class TestDroppedAttributes:
    def test_password_never_kept(self) -> None:
        result = validate_user({"userName": "x", "password": "t0p-secret"})
        assert "password" not in result
        assert "t0p-secret" not in repr(result)

    def test_read_only_attributes_dropped(self) -> None:
        result = validate_user(
            {
                "userName": "x",
                "id": "server-assigned",
                "meta": {"resourceType": "User", "version": 'W/"1"'},
                "groups": [{"value": "g1"}],
            }
        )
        assert result == {"userName": "x", "schemas": [CORE_USER_URN]}

    def test_client_schemas_replaced(self) -> None:
        result = validate_user({"userName": "x", "schemas": ["urn:bogus", ENTERPRISE_URN]})
        assert result["schemas"] == [CORE_USER_URN]

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("Password", "secret"),
            ("ID", "1"),
            ("Meta", {}),
            ("Groups", []),
            ("Schemas", [CORE_USER_URN]),
        ],
    )
    def test_dropped_attributes_case_insensitive(self, key: str, value: Any) -> None:
        assert validate_user({"userName": "x", key: value}) == {
            "userName": "x",
            "schemas": [CORE_USER_URN],
        }


class TestEnterpriseExtension:
    def test_extension_validated_and_listed(self) -> None:
        result = validate_user(
            {
                "userName": "x",
                ENTERPRISE_URN: {
                    "employeeNumber": "701984",
                    "department": "Tour Operations",
                    "manager": {"value": "m1", "displayName": "John", "$ref": "../Users/m1"},
                },
            }
        )
        assert result["schemas"] == [CORE_USER_URN, ENTERPRISE_URN]
        assert result[ENTERPRISE_URN] == {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "m1", "displayName": "John", "$ref": "../Users/m1"},
        }

    def test_extension_key_and_attributes_case_insensitive(self) -> None:
        result = validate_user(
            {"userName": "x", ENTERPRISE_URN.lower(): {"DEPARTMENT": "D", "costcenter": "C"}}
        )
        assert result[ENTERPRISE_URN] == {"department": "D", "costCenter": "C"}
        assert ENTERPRISE_URN.lower() not in result
        assert result["schemas"] == [CORE_USER_URN, ENTERPRISE_URN]

    def test_unknown_extension_attribute_named(self) -> None:
        error = invalid({"userName": "x", ENTERPRISE_URN: {"shoeSize": "42"}})
        assert f"{ENTERPRISE_URN}:shoeSize" in error.message

    def test_extension_must_be_object(self) -> None:
        error = invalid({"userName": "x", ENTERPRISE_URN: "Sales"})
        assert ENTERPRISE_URN in error.message
        assert "object" in error.message

    def test_extension_wrong_type(self) -> None:
        error = invalid({"userName": "x", ENTERPRISE_URN: {"department": 3}})
        assert f"{ENTERPRISE_URN}:department" in error.message

    def test_manager_must_be_complex(self) -> None:
        error = invalid({"userName": "x", ENTERPRISE_URN: {"manager": "m1"}})
        assert "manager" in error.message

    def test_empty_extension_not_listed(self) -> None:
        result = validate_user({"userName": "x", ENTERPRISE_URN: {"department": None}})
        assert result == {"userName": "x", "schemas": [CORE_USER_URN]}

    def test_core_attribute_not_allowed_in_extension(self) -> None:
        error = invalid({"userName": "x", ENTERPRISE_URN: {"userName": "y"}})
        assert "userName" in error.message

    def test_custom_extension(self) -> None:
        urn = "urn:example:params:scim:schemas:extension:acme:1.0:User"
        extensions = {urn: {"badge": (STRING, False, {}), "vip": (BOOLEAN, False, {})}}
        result = validate_user(
            {
                "userName": "x",
                urn: {"badge": "B1", "vip": "True"},
                ENTERPRISE_URN: {"division": "D"},
            },
            extensions=extensions,
        )
        assert result[urn] == {"badge": "B1", "vip": True}
        assert result["schemas"] == [CORE_USER_URN, *sorted([urn, ENTERPRISE_URN])]
        error = invalid({"userName": "x", urn: {"vip": "perhaps"}}, extensions=extensions)
        assert f"{urn}:vip" in error.message

    def test_unknown_extension_urn_rejected(self) -> None:
        urn = "urn:example:params:scim:schemas:extension:other:1.0:User"
        error = invalid({"userName": "x", urn: {"a": "b"}})
        assert urn in error.message


class TestPrimary:
    def test_one_primary_allowed(self) -> None:
        result = validate_user(
            {
                "userName": "x",
                "emails": [{"value": "a", "primary": True}, {"value": "b", "primary": False}],
            }
        )
        assert len(result["emails"]) == 2

    @pytest.mark.parametrize("second", [True, "True", "true"])
    def test_more_than_one_primary_rejected(self, second: Any) -> None:
        error = invalid(
            {
                "userName": "x",
                "phoneNumbers": [
                    {"value": "1", "primary": True},
                    {"value": "2", "primary": second},
                ],
            }
        )
        assert error.scim_type == "invalidValue"
        assert "phoneNumbers" in error.message
        assert "primary" in error.message

    def test_primaries_counted_per_attribute(self) -> None:
        result = validate_user(
            {
                "userName": "x",
                "emails": [{"value": "a", "primary": True}],
                "phoneNumbers": [{"value": "1", "primary": True}],
            }
        )
        assert result["emails"][0]["primary"] is True
        assert result["phoneNumbers"][0]["primary"] is True
