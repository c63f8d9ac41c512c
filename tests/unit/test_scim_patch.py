"""Unit tests for scim.patch: RFC 7644 §3.5.2 PATCH as Entra ID and Okta send it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scim.errors import ScimError
from scim.filter import matches, parse
from scim.patch import apply_patch
from scim.schemas import (
    CONNECTOR_USER,
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    GROUP,
    PATCH_OP,
    USER,
    ResourceType,
)

USER_ID = "2819c223-7f76-453a-919d-413861904646"
MANAGER_ID = "26118915-6090-4610-87e4-49d8ca9f808d"
GROUP_ID = "e9e30dba-f08f-4109-8486-d5c6a331660a"
ALICE = "a1a1a1a1-0000-4000-8000-000000000001"
BOB = "b2b2b2b2-0000-4000-8000-000000000002"
CAROL = "c3c3c3c3-0000-4000-8000-000000000003"
META = {"resourceType": "User", "created": "2024-01-01T00:00:00Z", "version": 'W/"1"'}


def user() -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "id": USER_ID,
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": True,
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": True},
            {"type": "home", "value": "babs@jensen.org"},
        ],
        "groups": [{"value": GROUP_ID, "display": "Tour Guides"}],
        "meta": dict(META),
        ENTERPRISE_USER: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": MANAGER_ID, "displayName": "John Smith"},
        },
    }


def bare_user() -> dict[str, Any]:
    """A user as Entra creates it: no extension, no emails beyond one."""
    return {
        "schemas": [CORE_USER],
        "id": USER_ID,
        "userName": "bjensen@example.com",
        "active": True,
        "meta": dict(META),
    }


def group() -> dict[str, Any]:
    return {
        "schemas": [CORE_GROUP],
        "id": GROUP_ID,
        "displayName": "Tour Guides",
        "members": [{"value": ALICE, "display": "Alice"}, {"value": BOB}],
        "meta": {"resourceType": "Group"},
    }


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def patch(
    resource: dict[str, Any], *operations: dict[str, Any], rt: ResourceType = USER
) -> dict[str, Any]:
    return apply_patch(resource, body(*operations), rt)


def fails(
    resource: dict[str, Any], request: Any, scim_type: str, rt: ResourceType = USER
) -> ScimError:
    """Apply a request that must fail with ``scim_type``, leaving ``resource`` untouched."""
    before = copy.deepcopy(resource)
    with pytest.raises(ScimError) as caught:
        apply_patch(resource, request, rt)
    assert caught.value.scim_type == scim_type, caught.value.message
    assert caught.value.status == 400
    assert resource == before
    return caught.value


def member_ids(resource: dict[str, Any]) -> list[str]:
    return [m["value"] for m in resource.get("members", [])]


# ------------------------------------------------------------------ the request


class TestRequestSyntax:
    @pytest.mark.parametrize("request_body", [None, [], "x", 1])
    def test_body_must_be_an_object(self, request_body: Any) -> None:
        fails(user(), request_body, "invalidSyntax")

    def test_schemas_missing(self) -> None:
        fails(user(), {"Operations": [{"op": "remove", "path": "title"}]}, "invalidSyntax")

    @pytest.mark.parametrize("schemas", [[], [CORE_USER], PATCH_OP, None])
    def test_schemas_without_patch_op(self, schemas: Any) -> None:
        request = {"schemas": schemas, "Operations": [{"op": "remove", "path": "title"}]}
        fails(user(), request, "invalidSyntax")

    def test_schema_urn_case_is_ignored(self) -> None:
        request = {
            "schemas": [PATCH_OP.upper()],
            "Operations": [{"op": "replace", "path": "title", "value": "Guide"}],
        }
        assert apply_patch(user(), request, USER)["title"] == "Guide"

    @pytest.mark.parametrize("operations", [None, [], {}, "add"])
    def test_operations_missing_empty_or_not_an_array(self, operations: Any) -> None:
        request: dict[str, Any] = {"schemas": [PATCH_OP]}
        if operations is not None:
            request["Operations"] = operations
        fails(user(), request, "invalidSyntax")

    @pytest.mark.parametrize("key", ["operations", "OPERATIONS", "Operations"])
    def test_operations_key_in_any_case(self, key: str) -> None:
        request = {"schemas": [PATCH_OP], key: [{"op": "replace", "path": "title", "value": "X"}]}
        assert apply_patch(user(), request, USER)["title"] == "X"

    def test_member_names_of_an_operation_in_any_case(self) -> None:
        result = patch(user(), {"OP": "Replace", "Path": "title", "Value": "X"})
        assert result["title"] == "X"

    @pytest.mark.parametrize(
        "op", ["add", "Add", "ADD", "replace", "Replace", "rEpLaCe", "remove", "Remove"]
    )
    def test_op_in_any_case(self, op: str) -> None:
        result = patch(user(), {"op": op, "path": "displayName", "value": "New"})
        expected = None if op.lower() == "remove" else "New"
        assert result.get("displayName") == expected

    @pytest.mark.parametrize("op", ["move", "copy", "test", "", None, 1])
    def test_unknown_op(self, op: Any) -> None:
        fails(user(), body({"op": op, "path": "title", "value": "x"}), "invalidSyntax")

    def test_op_missing(self) -> None:
        fails(user(), body({"path": "title", "value": "x"}), "invalidSyntax")

    @pytest.mark.parametrize("operation", ["add", None, ["add"]])
    def test_operation_must_be_an_object(self, operation: Any) -> None:
        fails(user(), body(operation), "invalidSyntax")

    @pytest.mark.parametrize("op", ["add", "replace"])
    def test_add_and_replace_need_a_value(self, op: str) -> None:
        fails(user(), body({"op": op, "path": "title"}), "invalidValue")

    @pytest.mark.parametrize("path", ["", "   ", 5, ["title"]])
    def test_path_must_be_a_non_empty_string(self, path: Any) -> None:
        fails(user(), body({"op": "replace", "path": path, "value": "x"}), "invalidPath")

    def test_error_names_the_failing_operation(self) -> None:
        error = fails(
            user(),
            body(
                {"op": "replace", "path": "title", "value": "ok"},
                {"op": "replace", "path": "nope", "value": "x"},
            ),
            "invalidPath",
        )
        assert "operation 2" in error.message
        assert "nope" in error.message


# ------------------------------------------------------------------ paths


class TestPaths:
    def test_attribute_names_are_case_insensitive_and_stored_in_schema_spelling(self) -> None:
        result = patch(user(), {"op": "replace", "path": "DISPLAYNAME", "value": "B"})
        assert result["displayName"] == "B"
        assert "DISPLAYNAME" not in result

    def test_stored_spelling_is_normalised_on_write(self) -> None:
        resource = bare_user()
        resource["displayname"] = "old"
        result = patch(resource, {"op": "replace", "path": "displayName", "value": "new"})
        assert result["displayName"] == "new"
        assert "displayname" not in result

    def test_replaced_attribute_keeps_its_place(self) -> None:
        result = patch(user(), {"op": "replace", "path": "displayName", "value": "B"})
        assert list(result) == list(user())

    def test_sub_attribute(self) -> None:
        result = patch(user(), {"op": "replace", "path": "name.givenName", "value": "Babs"})
        assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}

    def test_sub_attribute_case_insensitive(self) -> None:
        result = patch(user(), {"op": "replace", "path": "NAME.GIVENNAME", "value": "Babs"})
        assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}

    def test_core_urn_prefix(self) -> None:
        result = patch(user(), {"op": "replace", "path": f"{CORE_USER}:displayName", "value": "C"})
        assert result["displayName"] == "C"
        assert CORE_USER not in result

    def test_core_urn_prefix_on_groups(self) -> None:
        result = patch(
            group(), {"op": "replace", "path": f"{CORE_GROUP}:displayName", "value": "G"}, rt=GROUP
        )
        assert result["displayName"] == "G"

    def test_extension_urn_with_2_0_inside(self) -> None:
        path = f"{ENTERPRISE_USER}:employeeNumber"
        result = patch(user(), {"op": "replace", "path": path, "value": "42"})
        assert result[ENTERPRISE_USER]["employeeNumber"] == "42"
        assert result[ENTERPRISE_USER]["department"] == "Tour Operations"

    def test_extension_urn_in_any_case(self) -> None:
        path = f"{ENTERPRISE_USER.upper()}:DEPARTMENT"
        result = patch(user(), {"op": "replace", "path": path, "value": "Sales"})
        assert result[ENTERPRISE_USER]["department"] == "Sales"
        assert ENTERPRISE_USER.upper() not in result

    def test_extension_sub_attribute(self) -> None:
        path = f"{ENTERPRISE_USER}:manager.value"
        result = patch(user(), {"op": "replace", "path": path, "value": "m2"})
        assert result[ENTERPRISE_USER]["manager"] == {"value": "m2", "displayName": "John Smith"}

    def test_first_extension_attribute_creates_object_and_lists_schema(self) -> None:
        path = f"{ENTERPRISE_USER}:department"
        result = patch(bare_user(), {"op": "add", "path": path, "value": "Sales"})
        assert result[ENTERPRISE_USER] == {"department": "Sales"}
        assert result["schemas"] == [CORE_USER, ENTERPRISE_USER]

    def test_extension_on_a_resource_without_schemas(self) -> None:
        resource = {"id": USER_ID, "userName": "x"}
        path = f"{CONNECTOR_USER}:syncToContact"
        result = patch(resource, {"op": "add", "path": path, "value": True})
        assert result["schemas"] == [CORE_USER, CONNECTOR_USER]
        assert result[CONNECTOR_USER] == {"syncToContact": True}

    @pytest.mark.parametrize(
        "path",
        [
            "nickname2",
            "name.nickName",
            "displayName.value",
            "urn:ietf:params:scim:schemas:extension:other:2.0:User:department",
            f"{ENTERPRISE_USER}:userName",
            'emails[foo eq "x"].value',
            'emails[type eq "work"].bogus',
            'name[givenName eq "x"]',
            'displayName[value eq "x"]',
            "schemas",
            'emails[type eq "work"',
            'emails[type eq "work"]value',
            "1abc",
        ],
    )
    def test_unknown_or_malformed_path(self, path: str) -> None:
        fails(user(), body({"op": "replace", "path": path, "value": "x"}), "invalidPath")

    @pytest.mark.parametrize(
        "path", ["emails[type eq]", "emails[]", 'emails[type xx "work"]', "members[value eq ]"]
    )
    def test_malformed_filter(self, path: str) -> None:
        fails(user(), body({"op": "remove", "path": path}), "invalidFilter")

    def test_unknown_attribute_on_groups(self) -> None:
        fails(group(), body({"op": "add", "path": "emails", "value": []}), "invalidPath", GROUP)


# ------------------------------------------------------------------ add


class TestAdd:
    def test_single_valued_is_replaced(self) -> None:
        result = patch(user(), {"op": "add", "path": "displayName", "value": "B"})
        assert result["displayName"] == "B"

    def test_new_single_valued(self) -> None:
        result = patch(user(), {"op": "add", "path": "title", "value": "Tour Guide"})
        assert result["title"] == "Tour Guide"

    def test_multi_valued_appends(self) -> None:
        new = {"type": "other", "value": "b@example.net"}
        result = patch(user(), {"op": "add", "path": "emails", "value": [new]})
        assert result["emails"] == [*user()["emails"], new]

    def test_multi_valued_single_object_is_one_value(self) -> None:
        new = {"type": "other", "value": "b@example.net"}
        result = patch(user(), {"op": "add", "path": "emails", "value": new})
        assert result["emails"][-1] == new
        assert len(result["emails"]) == 3

    def test_identical_value_is_not_duplicated(self) -> None:
        home = {"type": "home", "value": "babs@jensen.org"}
        result = patch(user(), {"op": "add", "path": "emails", "value": [home, home]})
        assert result["emails"] == user()["emails"]

    def test_same_value_differing_in_case_is_merged(self) -> None:
        value = {"type": "home", "value": "BABS@jensen.org", "display": "Babs"}
        result = patch(user(), {"op": "add", "path": "emails", "value": [value]})
        assert len(result["emails"]) == 2
        assert result["emails"][1]["display"] == "Babs"

    def test_same_value_of_another_type_is_a_new_value(self) -> None:
        value = {"type": "other", "value": "babs@jensen.org"}
        result = patch(user(), {"op": "add", "path": "emails", "value": [value]})
        assert len(result["emails"]) == 3

    def test_complex_merges_sub_attributes(self) -> None:
        result = patch(user(), {"op": "add", "path": "name", "value": {"middleName": "J"}})
        assert result["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"}

    def test_complex_sub_attribute_replaces_it(self) -> None:
        result = patch(user(), {"op": "add", "path": "name.givenName", "value": "Babs"})
        assert result["name"]["givenName"] == "Babs"

    def test_complex_created_when_absent(self) -> None:
        result = patch(bare_user(), {"op": "add", "path": "name.givenName", "value": "Babs"})
        assert result["name"] == {"givenName": "Babs"}

    def test_filter_path_updates_the_matching_value(self) -> None:
        path = 'emails[type eq "work"].value'
        result = patch(user(), {"op": "add", "path": path, "value": "new@example.com"})
        assert result["emails"][0] == {
            "type": "work",
            "value": "new@example.com",
            "primary": True,
        }
        assert result["emails"][1] == user()["emails"][1]

    def test_filter_path_creates_the_value_when_none_matches(self) -> None:
        # Entra's shape for a user who had no address (learn.microsoft.com Q&A 120490).
        path = 'addresses[type eq "work"].formatted'
        result = patch(user(), {"op": "Add", "path": path, "value": "Columbus"})
        assert result["addresses"] == [{"type": "work", "formatted": "Columbus"}]

    def test_filter_path_with_and_seeds_every_term(self) -> None:
        path = 'phoneNumbers[type eq "work" and primary eq true].value'
        result = patch(user(), {"op": "add", "path": path, "value": "555-1234"})
        assert result["phoneNumbers"] == [{"type": "work", "primary": True, "value": "555-1234"}]

    def test_filter_path_that_cannot_describe_a_new_value(self) -> None:
        path = 'phoneNumbers[type sw "wo"].value'
        fails(user(), body({"op": "add", "path": path, "value": "1"}), "noTarget")

    def test_filter_path_without_sub_merges_into_matches(self) -> None:
        path = 'emails[type eq "home"]'
        result = patch(user(), {"op": "add", "path": path, "value": {"display": "Home"}})
        assert result["emails"][1] == {
            "type": "home",
            "value": "babs@jensen.org",
            "display": "Home",
        }

    def test_null_adds_nothing_to_multi_valued(self) -> None:
        assert patch(user(), {"op": "add", "path": "emails", "value": None}) == user()

    def test_null_items_in_a_list_are_skipped(self) -> None:
        new = {"type": "other", "value": "o@example.com"}
        result = patch(user(), {"op": "add", "path": "emails", "value": [None, new]})
        assert result["emails"] == [*user()["emails"], new]

    def test_empty_list_adds_nothing(self) -> None:
        assert patch(user(), {"op": "add", "path": "emails", "value": []}) == user()


# ------------------------------------------------------------------ replace


class TestReplace:
    def test_single_valued(self) -> None:
        result = patch(user(), {"op": "replace", "path": "userName", "value": "babs"})
        assert result["userName"] == "babs"

    def test_absent_attribute_is_added(self) -> None:
        result = patch(user(), {"op": "replace", "path": "nickName", "value": "Babs"})
        assert result["nickName"] == "Babs"

    def test_multi_valued_without_filter_replaces_the_list(self) -> None:
        emails = [{"type": "other", "value": "x@example.com"}]
        result = patch(user(), {"op": "replace", "path": "emails", "value": emails})
        assert result["emails"] == emails

    def test_identical_values_in_the_list_are_kept_once(self) -> None:
        value = {"type": "other", "value": "x@example.com"}
        result = patch(user(), {"op": "replace", "path": "emails", "value": [value, value]})
        assert result["emails"] == [value]

    def test_complex_merges(self) -> None:
        result = patch(user(), {"op": "replace", "path": "name", "value": {"givenName": "B"}})
        assert result["name"] == {"givenName": "B", "familyName": "Jensen"}

    def test_filter_and_sub_attribute_replace_in_every_match(self) -> None:
        resource = user()
        resource["emails"].append({"type": "work", "value": "second@example.com"})
        path = 'emails[type eq "work"].display'
        result = patch(resource, {"op": "replace", "path": path, "value": "Work"})
        assert [e.get("display") for e in result["emails"]] == ["Work", None, "Work"]

    def test_filter_without_sub_replaces_whole_matching_values(self) -> None:
        path = 'emails[type eq "home"]'
        value = {"type": "home", "value": "new@jensen.org"}
        result = patch(user(), {"op": "replace", "path": path, "value": value})
        assert result["emails"] == [user()["emails"][0], value]

    def test_filter_matching_nothing_is_no_target(self) -> None:
        path = 'emails[type eq "other"].value'
        fails(user(), body({"op": "replace", "path": path, "value": "x"}), "noTarget")

    def test_filter_on_absent_attribute_is_no_target(self) -> None:
        path = 'phoneNumbers[type eq "work"].value'
        fails(user(), body({"op": "replace", "path": path, "value": "1"}), "noTarget")

    def test_filter_with_and(self) -> None:
        path = 'emails[type eq "work" and primary eq true].value'
        result = patch(user(), {"op": "replace", "path": path, "value": "w@example.com"})
        assert result["emails"][0]["value"] == "w@example.com"
        assert result["emails"][1] == user()["emails"][1]

    def test_null_removes(self) -> None:
        result = patch(user(), {"op": "replace", "path": "displayName", "value": None})
        assert "displayName" not in result

    def test_null_sub_attribute_removes_only_it(self) -> None:
        result = patch(user(), {"op": "replace", "path": "name.givenName", "value": None})
        assert result["name"] == {"familyName": "Jensen"}

    def test_null_inside_a_complex_value_removes_that_sub_attribute(self) -> None:
        value = {"givenName": None, "middleName": "J"}
        result = patch(user(), {"op": "replace", "path": "name", "value": value})
        assert result["name"] == {"familyName": "Jensen", "middleName": "J"}

    def test_empty_list_unassigns_multi_valued(self) -> None:
        result = patch(user(), {"op": "replace", "path": "emails", "value": []})
        assert "emails" not in result

    def test_empty_string_is_a_value(self) -> None:
        result = patch(user(), {"op": "replace", "path": "displayName", "value": ""})
        assert result["displayName"] == ""


# ------------------------------------------------------------------ remove


class TestRemove:
    def test_needs_a_path(self) -> None:
        fails(user(), body({"op": "remove"}), "noTarget")

    def test_needs_a_path_even_with_a_value(self) -> None:
        fails(user(), body({"op": "remove", "value": {"displayName": "x"}}), "noTarget")

    def test_single_valued(self) -> None:
        result = patch(user(), {"op": "remove", "path": "displayName"})
        assert "displayName" not in result
        assert result["userName"] == user()["userName"]

    @pytest.mark.parametrize(
        "path",
        ["title", "name.middleName", f"{ENTERPRISE_USER}:costCenter", 'emails[type eq "other"]'],
    )
    def test_absent_is_a_no_op(self, path: str) -> None:
        assert patch(user(), {"op": "remove", "path": path}) == user()

    def test_absent_extension_attribute_leaves_schemas_alone(self) -> None:
        resource = {**bare_user(), "schemas": [CORE_USER, ENTERPRISE_USER]}
        path = f"{ENTERPRISE_USER}:department"
        assert patch(resource, {"op": "remove", "path": path}) == resource

    def test_absent_extension_attribute_adds_no_extension(self) -> None:
        path = f"{ENTERPRISE_USER}:department"
        assert patch(bare_user(), {"op": "remove", "path": path}) == bare_user()

    def test_sub_attribute(self) -> None:
        result = patch(user(), {"op": "remove", "path": "name.givenName"})
        assert result["name"] == {"familyName": "Jensen"}

    def test_last_sub_attribute_unassigns_the_complex_attribute(self) -> None:
        result = patch(
            user(),
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "name.familyName"},
        )
        assert "name" not in result

    def test_whole_multi_valued(self) -> None:
        assert "emails" not in patch(user(), {"op": "remove", "path": "emails"})

    def test_filter_removes_matching_values(self) -> None:
        result = patch(user(), {"op": "remove", "path": 'emails[type eq "home"]'})
        assert result["emails"] == [user()["emails"][0]]

    def test_filter_removing_the_last_value_unassigns(self) -> None:
        result = patch(user(), {"op": "remove", "path": 'emails[value ew ".com"]'})
        assert result["emails"] == [user()["emails"][1]]
        result = patch(result, {"op": "remove", "path": "emails[value pr]"})
        assert "emails" not in result

    def test_filter_and_sub_attribute(self) -> None:
        result = patch(user(), {"op": "remove", "path": 'emails[type eq "work"].primary'})
        assert result["emails"][0] == {"type": "work", "value": "bjensen@example.com"}

    def test_filter_and_value_sub_attribute_removes_the_value(self) -> None:
        result = patch(user(), {"op": "remove", "path": 'emails[type eq "work"].value'})
        assert result["emails"] == [user()["emails"][1]]

    def test_value_array_removes_those_values(self) -> None:
        value = [{"value": "babs@jensen.org"}]
        result = patch(user(), {"op": "remove", "path": "emails", "value": value})
        assert result["emails"] == [user()["emails"][0]]

    def test_empty_value_array_removes_nothing(self) -> None:
        assert patch(user(), {"op": "remove", "path": "emails", "value": []}) == user()

    def test_last_extension_attribute_drops_extension_and_schema(self) -> None:
        resource = bare_user()
        resource["schemas"].append(ENTERPRISE_USER)
        resource[ENTERPRISE_USER] = {"department": "Sales"}
        result = patch(resource, {"op": "remove", "path": f"{ENTERPRISE_USER}:department"})
        assert ENTERPRISE_USER not in result
        assert result["schemas"] == [CORE_USER]

    def test_extension_urn_as_path_removes_the_extension(self) -> None:
        result = patch(user(), {"op": "remove", "path": ENTERPRISE_USER})
        assert ENTERPRISE_USER not in result
        assert result["schemas"] == [CORE_USER]

    def test_manager(self) -> None:
        result = patch(user(), {"op": "Remove", "path": f"{ENTERPRISE_USER}:manager"})
        assert result[ENTERPRISE_USER] == {
            "employeeNumber": "701984",
            "department": "Tour Operations",
        }

    def test_required_attribute_cannot_be_removed(self) -> None:
        fails(user(), body({"op": "remove", "path": "userName"}), "invalidValue")

    def test_required_attribute_cannot_be_nulled(self) -> None:
        fails(user(), body({"op": "replace", "value": {"userName": None}}), "invalidValue")

    def test_group_display_name_is_required(self) -> None:
        fails(group(), body({"op": "remove", "path": "displayName"}), "invalidValue", GROUP)


# ------------------------------------------------------------------ without path


class TestWithoutPath:
    def test_value_must_be_an_object(self) -> None:
        for value in ("x", ["displayName"], 1, None):
            fails(user(), body({"op": "replace", "value": value}), "invalidValue")

    def test_plain_dotted_urn_and_filter_keys(self) -> None:
        value = {
            "displayName": "B",
            "name.familyName": "J",
            f"{ENTERPRISE_USER}:department": "Sales",
            'emails[type eq "work"].value': "w@example.com",
        }
        result = patch(user(), {"op": "replace", "value": value})
        assert result["displayName"] == "B"
        assert result["name"] == {"givenName": "Barbara", "familyName": "J"}
        assert result[ENTERPRISE_USER]["department"] == "Sales"
        assert result["emails"][0]["value"] == "w@example.com"

    def test_extension_object_keyed_by_urn(self) -> None:
        value = {ENTERPRISE_USER: {"department": "Sales", "manager": {"value": "m2"}}}
        result = patch(user(), {"op": "replace", "value": value})
        assert result[ENTERPRISE_USER] == {
            "employeeNumber": "701984",
            "department": "Sales",
            "manager": {"value": "m2", "displayName": "John Smith"},
        }

    def test_extension_object_must_be_an_object(self) -> None:
        fails(user(), body({"op": "replace", "value": {ENTERPRISE_USER: "x"}}), "invalidValue")

    def test_extension_urn_as_path_with_object_value(self) -> None:
        operation = {"op": "add", "path": ENTERPRISE_USER, "value": {"division": "East"}}
        result = patch(bare_user(), operation)
        assert result[ENTERPRISE_USER] == {"division": "East"}
        assert ENTERPRISE_USER in result["schemas"]

    def test_add_appends_to_multi_valued(self) -> None:
        new = {"type": "other", "value": "o@example.com"}
        result = patch(user(), {"op": "add", "value": {"emails": [new]}})
        assert result["emails"] == [*user()["emails"], new]

    def test_replace_replaces_multi_valued(self) -> None:
        new = {"type": "other", "value": "o@example.com"}
        result = patch(user(), {"op": "replace", "value": {"emails": [new]}})
        assert result["emails"] == [new]

    def test_schemas_key_is_ignored(self) -> None:
        value = {"schemas": [CORE_USER], "title": "T"}
        result = patch(user(), {"op": "replace", "value": value})
        assert result["schemas"] == user()["schemas"]
        assert result["title"] == "T"

    def test_unknown_key(self) -> None:
        fails(user(), body({"op": "replace", "value": {"foo": "x"}}), "invalidPath")

    def test_null_key_removes(self) -> None:
        result = patch(user(), {"op": "replace", "value": {"displayName": None}})
        assert "displayName" not in result


# ------------------------------------------------------------------ values


class TestValues:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("True", True), ("False", False), ("true", True), ("FALSE", False), (False, False)],
    )
    def test_boolean_strings(self, raw: Any, expected: bool) -> None:
        result = patch(user(), {"op": "Replace", "path": "active", "value": raw})
        assert result["active"] is expected

    def test_boolean_string_inside_complex_value(self) -> None:
        new = {"type": "other", "value": "o@example.com", "primary": "False"}
        result = patch(user(), {"op": "add", "path": "emails", "value": [new]})
        assert result["emails"][-1]["primary"] is False

    def test_boolean_string_on_sub_attribute_path(self) -> None:
        path = 'emails[type eq "work"].primary'
        result = patch(user(), {"op": "replace", "path": path, "value": "False"})
        assert result["emails"][0]["primary"] is False

    def test_boolean_string_in_extension(self) -> None:
        path = f"{CONNECTOR_USER}:syncToContact"
        result = patch(user(), {"op": "add", "path": path, "value": "True"})
        assert result[CONNECTOR_USER] == {"syncToContact": True}

    def test_boolean_string_only_for_boolean_attributes(self) -> None:
        result = patch(user(), {"op": "replace", "path": "title", "value": "True"})
        assert result["title"] == "True"

    @pytest.mark.parametrize("raw", ["yes", "no", "1", 1, 0, {}, []])
    def test_not_a_boolean(self, raw: Any) -> None:
        fails(user(), body({"op": "replace", "path": "active", "value": raw}), "invalidValue")

    @pytest.mark.parametrize("raw", [{"a": "b"}, ["x"], 5, True])
    def test_wrong_type_for_a_string(self, raw: Any) -> None:
        fails(user(), body({"op": "replace", "path": "displayName", "value": raw}), "invalidValue")

    @pytest.mark.parametrize("raw", ["Barbara", ["x"], 5])
    def test_wrong_type_for_a_complex_attribute(self, raw: Any) -> None:
        fails(user(), body({"op": "replace", "path": "name", "value": raw}), "invalidValue")

    @pytest.mark.parametrize("raw", ["x@example.com", [5], [["x"]]])
    def test_wrong_type_for_a_multi_valued_attribute(self, raw: Any) -> None:
        fails(user(), body({"op": "add", "path": "emails", "value": raw}), "invalidValue")

    def test_wrong_type_for_a_sub_attribute(self) -> None:
        value = [{"value": "x@example.com", "type": 3}]
        fails(user(), body({"op": "add", "path": "emails", "value": value}), "invalidValue")

    def test_unknown_sub_attribute_in_a_value(self) -> None:
        value = [{"value": "x@example.com", "label": "x"}]
        fails(user(), body({"op": "add", "path": "emails", "value": value}), "invalidPath")

    def test_sub_attribute_names_in_values_take_schema_spelling(self) -> None:
        value = [{"VALUE": "x@example.com", "Type": "other"}]
        result = patch(user(), {"op": "add", "path": "emails", "value": value})
        assert result["emails"][-1] == {"value": "x@example.com", "type": "other"}

    def test_manager_as_bare_id(self) -> None:
        path = f"{ENTERPRISE_USER}:manager"
        result = patch(bare_user(), {"op": "Add", "path": path, "value": MANAGER_ID})
        assert result[ENTERPRISE_USER] == {"manager": {"value": MANAGER_ID}}

    def test_replacing_manager_by_bare_id_drops_nothing_else(self) -> None:
        path = f"{ENTERPRISE_USER}:manager"
        result = patch(user(), {"op": "Replace", "path": path, "value": "m2"})
        assert result[ENTERPRISE_USER]["manager"] == {"value": "m2", "displayName": "John Smith"}


class TestPrimary:
    def test_added_primary_takes_over(self) -> None:
        new = {"type": "other", "value": "o@example.com", "primary": True}
        result = patch(user(), {"op": "add", "path": "emails", "value": [new]})
        assert [e.get("primary") for e in result["emails"]] == [False, None, True]

    def test_primary_set_by_filter_path_takes_over(self) -> None:
        path = 'emails[type eq "home"].primary'
        result = patch(user(), {"op": "replace", "path": path, "value": True})
        assert [e.get("primary") for e in result["emails"]] == [False, True]

    def test_primary_as_string_takes_over(self) -> None:
        path = 'emails[type eq "home"].primary'
        result = patch(user(), {"op": "replace", "path": path, "value": "True"})
        assert [e.get("primary") for e in result["emails"]] == [False, True]

    def test_non_primary_value_leaves_primary_alone(self) -> None:
        new = {"type": "other", "value": "o@example.com"}
        result = patch(user(), {"op": "add", "path": "emails", "value": [new]})
        assert result["emails"][0]["primary"] is True

    def test_two_primaries_in_one_request(self) -> None:
        values = [
            {"value": "a@example.com", "primary": True},
            {"value": "b@example.com", "primary": True},
        ]
        fails(user(), body({"op": "replace", "path": "emails", "value": values}), "invalidValue")


class TestMutability:
    def test_id_cannot_change(self) -> None:
        fails(user(), body({"op": "replace", "path": "id", "value": "other"}), "mutability")

    def test_unchanged_id_is_ignored(self) -> None:
        assert patch(user(), {"op": "replace", "path": "id", "value": USER_ID}) == user()

    def test_id_cannot_be_removed(self) -> None:
        fails(user(), body({"op": "remove", "path": "id"}), "mutability")

    def test_meta_cannot_change(self) -> None:
        operation = {"op": "replace", "path": "meta.version", "value": 'W/"9"'}
        fails(user(), body(operation), "mutability")

    def test_unchanged_meta_is_ignored(self) -> None:
        assert patch(user(), {"op": "replace", "value": {"meta": dict(META)}}) == user()

    def test_groups_are_read_only(self) -> None:
        value = [{"value": "other-group"}]
        fails(user(), body({"op": "add", "path": "groups", "value": value}), "mutability")

    def test_groups_unchanged_are_ignored(self) -> None:
        value = [{"value": GROUP_ID}]
        assert patch(user(), {"op": "add", "path": "groups", "value": value}) == user()

    def test_empty_groups_on_a_user_without_groups_are_ignored(self) -> None:
        assert patch(bare_user(), {"op": "add", "value": {"groups": []}}) == bare_user()

    def test_read_only_sub_attribute_by_path(self) -> None:
        path = f"{ENTERPRISE_USER}:manager.displayName"
        fails(user(), body({"op": "replace", "path": path, "value": "Jane"}), "mutability")

    def test_read_only_sub_attribute_inside_a_value_is_ignored(self) -> None:
        path = f"{ENTERPRISE_USER}:manager"
        value = {"value": "m2", "displayName": "Jane"}
        result = patch(user(), {"op": "replace", "path": path, "value": value})
        assert result[ENTERPRISE_USER]["manager"] == {"value": "m2", "displayName": "John Smith"}

    def test_immutable_sub_attribute_cannot_change(self) -> None:
        path = f'members[value eq "{ALICE}"].value'
        fails(group(), body({"op": "replace", "path": path, "value": CAROL}), "mutability", GROUP)

    def test_immutable_sub_attribute_cannot_change_by_whole_value(self) -> None:
        path = f'members[value eq "{ALICE}"]'
        operation = {"op": "replace", "path": path, "value": {"value": CAROL}}
        fails(group(), body(operation), "mutability", GROUP)

    def test_immutable_sub_attribute_may_be_set_when_absent(self) -> None:
        path = f'members[value eq "{BOB}"].type'
        result = patch(group(), {"op": "add", "path": path, "value": "User"}, rt=GROUP)
        assert result["members"][1] == {"value": BOB, "type": "User"}

    def test_immutable_sub_attribute_cannot_be_removed(self) -> None:
        path = f'members[value eq "{BOB}"].value'
        fails(group(), body({"op": "remove", "path": path}), "mutability", GROUP)


class TestValueFilterSemantics:
    """Value filters select as the filter evaluator does (scim.filter.matches)."""

    def test_eq_ignores_case(self) -> None:
        operation = {"op": "remove", "path": f'members[value eq "{ALICE.upper()}"]'}
        assert member_ids(patch(group(), operation, rt=GROUP)) == [BOB]

    def test_eq_compares_instants(self) -> None:
        resource = {
            **bare_user(),
            "emails": [{"value": "a@x", "display": "2024-01-01T01:00:00+01:00"}],
        }
        path = 'emails[display eq "2024-01-01T00:00:00Z"]'
        assert "emails" not in patch(resource, {"op": "remove", "path": path})

    def test_eq_does_not_match_a_missing_sub_attribute(self) -> None:
        operation = {"op": "remove", "path": 'members[display eq "Alice"]'}
        assert member_ids(patch(group(), operation, rt=GROUP)) == [BOB]

    @given(
        st.lists(st.text(alphabet="aAé1:-TZ", max_size=4), max_size=6),
        st.text(alphabet="aAé1:-TZ", max_size=4),
        st.sampled_from(["eq", "ne", "co", "sw"]),
    )
    def test_remove_agrees_with_the_evaluator(
        self, values: list[str], wanted: str, op: str
    ) -> None:
        resource = {**bare_user(), "emails": [{"value": v, "type": "work"} for v in values]}
        text = f"value {op} {json.dumps(wanted)}"
        result = patch(resource, {"op": "remove", "path": f"emails[{text}]"})
        expected = [e for e in resource["emails"] if not matches(parse(text), e)]
        assert result.get("emails", []) == expected


# ------------------------------------------------------------------ Entra ID


class TestEntra:
    def test_user_update_without_flag(self) -> None:
        request = body(
            {"op": "Replace", "path": "displayName", "value": "Barbara J"},
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "bj@example.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "Replace", "path": "active", "value": "False"},
            {
                "op": "Add",
                "path": f"{ENTERPRISE_USER}:employeeNumber",
                "value": "99887766",
            },
            {"op": "Add", "path": f"{ENTERPRISE_USER}:manager", "value": "m-42"},
        )
        result = apply_patch(bare_user(), request, USER)
        assert result == {
            **bare_user(),
            "schemas": [CORE_USER, ENTERPRISE_USER],
            "displayName": "Barbara J",
            "emails": [{"type": "work", "value": "bj@example.com"}],
            "name": {"familyName": "Jensen-Smith"},
            "active": False,
            ENTERPRISE_USER: {"employeeNumber": "99887766", "manager": {"value": "m-42"}},
        }

    def test_user_update_with_flag(self) -> None:
        value = {
            "displayName": "Barbara J",
            "name.givenName": "Babs",
            "name.familyName": "Jensen-Smith",
            'emails[type eq "work"].value': "bj@example.com",
            "active": False,
            f"{ENTERPRISE_USER}:department": "Sales",
            f"{ENTERPRISE_USER}:manager": "m-42",
        }
        result = patch(user(), {"op": "replace", "value": value})
        assert result["displayName"] == "Barbara J"
        assert result["name"] == {"givenName": "Babs", "familyName": "Jensen-Smith"}
        assert result["emails"][0] == {"type": "work", "value": "bj@example.com", "primary": True}
        assert result["active"] is False
        assert result[ENTERPRISE_USER] == {
            "employeeNumber": "701984",
            "department": "Sales",
            "manager": {"value": "m-42", "displayName": "John Smith"},
        }

    def test_disable(self) -> None:
        result = patch(user(), {"op": "Replace", "path": "active", "value": "False"})
        assert result["active"] is False

    def test_add_member(self) -> None:
        operation = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": CAROL}]}
        result = patch(group(), operation, rt=GROUP)
        assert result["members"][-1] == {"value": CAROL}
        assert member_ids(result) == [ALICE, BOB, CAROL]

    def test_add_member_to_group_created_with_empty_members(self) -> None:
        resource = {**group(), "members": []}
        operation = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": CAROL}]}
        assert member_ids(patch(resource, operation, rt=GROUP)) == [CAROL]

    def test_re_adding_a_member_is_idempotent(self) -> None:
        operation = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": ALICE}]}
        assert patch(group(), operation, rt=GROUP) == group()

    def test_remove_member_without_flag(self) -> None:
        operation = {"op": "Remove", "path": "members", "value": [{"value": ALICE}]}
        assert member_ids(patch(group(), operation, rt=GROUP)) == [BOB]

    def test_remove_member_with_flag(self) -> None:
        operation = {"op": "remove", "path": f'members[value eq "{ALICE}"]'}
        assert member_ids(patch(group(), operation, rt=GROUP)) == [BOB]

    def test_remove_absent_member_is_a_no_op(self) -> None:
        operation = {"op": "Remove", "path": "members", "value": [{"value": CAROL}]}
        assert patch(group(), operation, rt=GROUP) == group()

    def test_remove_last_member(self) -> None:
        resource = {**group(), "members": [{"value": ALICE}]}
        operation = {"op": "Remove", "path": "members", "value": [{"value": ALICE}]}
        assert "members" not in patch(resource, operation, rt=GROUP)

    def test_rename_group(self) -> None:
        operation = {"op": "Replace", "path": "displayName", "value": "Guides"}
        assert patch(group(), operation, rt=GROUP)["displayName"] == "Guides"


# ------------------------------------------------------------------ Okta


class TestOkta:
    def test_deactivate(self) -> None:
        result = patch(user(), {"op": "replace", "value": {"active": False}})
        assert result == {**user(), "active": False}

    def test_reactivate(self) -> None:
        result = patch({**user(), "active": False}, {"op": "replace", "value": {"active": True}})
        assert result["active"] is True

    def test_group_rename(self) -> None:
        operation = {"op": "replace", "value": {"id": GROUP_ID, "displayName": "Guides"}}
        assert patch(group(), operation, rt=GROUP) == {**group(), "displayName": "Guides"}

    def test_group_rename_with_another_id(self) -> None:
        operation = {"op": "replace", "value": {"id": "other", "displayName": "Guides"}}
        fails(group(), body(operation), "mutability", GROUP)

    def test_add_members_with_display(self) -> None:
        value = [{"value": CAROL, "display": "Carol"}]
        result = patch(group(), {"op": "add", "path": "members", "value": value}, rt=GROUP)
        assert result["members"][-1] == {"value": CAROL}  # display is the server's

    def test_remove_member(self) -> None:
        operation = {"op": "remove", "path": f'members[value eq "{BOB}"]'}
        assert member_ids(patch(group(), operation, rt=GROUP)) == [ALICE]

    def test_replace_all_members(self) -> None:
        value = [{"value": CAROL, "display": "Carol"}, {"value": BOB}]
        result = patch(group(), {"op": "replace", "path": "members", "value": value}, rt=GROUP)
        assert result["members"] == [{"value": CAROL}, {"value": BOB}]


# ------------------------------------------------------------------ atomicity


class TestAtomicity:
    def test_failing_second_operation_changes_nothing(self) -> None:
        resource = user()
        request = body(
            {"op": "replace", "path": "displayName", "value": "changed"},
            {"op": "remove", "path": "emails"},
            {"op": "replace", "path": "id", "value": "other"},
        )
        fails(resource, request, "mutability")
        assert resource == user()

    def test_failing_second_group_operation_keeps_members(self) -> None:
        resource = group()
        request = body(
            {"op": "remove", "path": "members"},
            {"op": "replace", "path": 'members[value eq "nobody"].value', "value": "x"},
        )
        fails(resource, request, "noTarget", GROUP)
        assert member_ids(resource) == [ALICE, BOB]

    def test_input_is_not_mutated(self) -> None:
        resource = user()
        patch(
            resource,
            {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
            {"op": "add", "path": "name.middleName", "value": "J"},
            {"op": "remove", "path": f"{ENTERPRISE_USER}:manager"},
            {"op": "replace", "path": "active", "value": "False"},
        )
        assert resource == user()

    def test_result_shares_no_objects_with_input(self) -> None:
        resource = user()
        result = patch(resource, {"op": "replace", "path": "title", "value": "T"})
        result["emails"][0]["value"] = "mutated"
        result["name"]["givenName"] = "mutated"
        result[ENTERPRISE_USER]["department"] = "mutated"
        assert resource == user()

    def test_operations_apply_in_order(self) -> None:
        result = patch(
            user(),
            {"op": "remove", "path": "emails"},
            {"op": "add", "path": "emails", "value": [{"value": "only@example.com"}]},
            {"op": "replace", "path": "emails[value pr].type", "value": "work"},
        )
        assert result["emails"] == [{"value": "only@example.com", "type": "work"}]

    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["add", "Add", "replace", "Replace"]),
                st.sampled_from(["title", "displayName", "nickName"]),
                st.text(max_size=10),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def test_last_write_wins_and_input_stays(self, writes: list[tuple[str, str, str]]) -> None:
        resource = user()
        result = patch(resource, *({"op": o, "path": p, "value": v} for o, p, v in writes))
        assert resource == user()
        for _, path, _ in writes:
            assert result[path] == [v for _, p, v in writes if p == path][-1]
