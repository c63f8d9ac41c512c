"""Unit tests for scim.paths: parse_path, get_value and set_value."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim.errors import InvalidPath
from scim.filter import CORE_USER_URN, ENTERPRISE_URN, And, AttrRef, Compare
from scim.paths import AttrPath, get_value, parse_path, resolve_path, set_value
from scim.schemas import GROUP, USER

WORK = Compare(AttrRef("type"), "eq", "work")


def user() -> dict[str, Any]:
    return {
        "schemas": [CORE_USER_URN, ENTERPRISE_URN],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"type": "work", "value": "first-work@example.com"},
            {"type": "work", "value": "primary-work@example.com", "primary": True},
            {"type": "home", "value": "home@example.org"},
        ],
        "addresses": [{"type": "work", "locality": "Berlin", "postalCode": "10115"}],
        ENTERPRISE_URN: {"department": "Sales", "manager": {"displayName": "John Smith"}},
    }


class TestParsePath:
    def test_core_attribute(self) -> None:
        assert parse_path("userName") == AttrPath(
            uri=None, attr="userName", value_filter=None, sub=None
        )

    def test_sub_attribute(self) -> None:
        assert parse_path("name.givenName") == AttrPath(None, "name", None, "givenName")

    def test_value_filter_path(self) -> None:
        assert parse_path('emails[type eq "work"].value') == AttrPath(None, "emails", WORK, "value")

    def test_value_filter_without_sub_attribute(self) -> None:
        assert parse_path('emails[type eq "work"]') == AttrPath(None, "emails", WORK, None)

    def test_value_filter_with_and(self) -> None:
        parsed = parse_path('emails[type eq "work" and primary eq true].display')
        assert parsed.attr == "emails"
        assert parsed.sub == "display"
        assert parsed.value_filter == And(WORK, Compare(AttrRef("primary"), "eq", True))

    def test_value_filter_containing_brackets_and_colons(self) -> None:
        parsed = parse_path('emails[value eq "a]b:c[d"].value')
        assert parsed.attr == "emails"
        assert parsed.value_filter == Compare(AttrRef("value"), "eq", "a]b:c[d")
        assert parsed.sub == "value"

    def test_enterprise_urn_with_version_number(self) -> None:
        parsed = parse_path(f"{ENTERPRISE_URN}:department")
        assert parsed == AttrPath(ENTERPRISE_URN, "department", None, None)
        assert "2.0" in (parsed.uri or "")

    def test_enterprise_urn_with_sub_attribute(self) -> None:
        assert parse_path(f"{ENTERPRISE_URN}:manager.displayName") == AttrPath(
            ENTERPRISE_URN, "manager", None, "displayName"
        )

    def test_uppercase_urn_prefix(self) -> None:
        parsed = parse_path(f"{ENTERPRISE_URN.upper()}:department")
        assert parsed.uri == ENTERPRISE_URN.upper()
        assert parsed.attr == "department"

    @pytest.mark.parametrize("urn", [CORE_USER_URN, CORE_USER_URN.lower()])
    def test_core_urn_is_dropped(self, urn: str) -> None:
        assert parse_path(f"{urn}:userName") == AttrPath(None, "userName", None, None)
        assert parse_path(f"{urn}:name.familyName") == AttrPath(None, "name", None, "familyName")

    def test_attribute_with_dollar(self) -> None:
        assert parse_path("$ref").attr == "$ref"

    @pytest.mark.parametrize(
        "path",
        [
            "",
            "urn:",
            "urn:foo:",
            f"{ENTERPRISE_URN}:",
            'emails[type eq "work"',
            'emails[type eq "work"]value',
            'emails[type eq "work"]]x',
            "emails[]",
            "emails[type eq]",
            'emails[type foo "x"].value',
            "emails]",
            "na me",
            ".name",
            "[type eq 1]",
        ],
    )
    def test_invalid_paths(self, path: str) -> None:
        with pytest.raises(InvalidPath) as info:
            parse_path(path)
        assert info.value.scim_type == "invalidPath"
        assert info.value.status == 400

    def test_invalid_filter_reported_as_invalid_path(self) -> None:
        with pytest.raises(InvalidPath, match="emails"):
            parse_path('emails[type eq "unterminated].value')

    @pytest.mark.parametrize(
        "path", ["name.given.Name", "name..givenName", 'emails[type eq "work"].', "name.given name"]
    )
    def test_invalid_sub_attribute(self, path: str) -> None:
        with pytest.raises(InvalidPath):
            parse_path(path)


class TestGetValue:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("userName", "bjensen"),
            ("USERNAME", "bjensen"),
            ("name.givenName", "Barbara"),
            ("Name.FamilyName", "Jensen"),
            ("name.middleName", None),
            ("title", None),
            ('emails[type eq "home"].value', "home@example.org"),
            ('emails[type eq "HOME"].value', "home@example.org"),
            ('emails[type eq "fax"].value', None),
            ('emails[type eq "work"].type', "work"),
            ('addresses[type eq "work"].locality', "Berlin"),
            ('addresses[type eq "work"].region', None),
            ('addresses[type eq "home"].locality', None),
            (f"{ENTERPRISE_URN}:department", "Sales"),
            (f"{ENTERPRISE_URN.lower()}:department", "Sales"),
            (f"{ENTERPRISE_URN}:manager.displayName", "John Smith"),
            (f"{ENTERPRISE_URN}:costCenter", None),
            (f"{CORE_USER_URN}:userName", "bjensen"),
            (f"{CORE_USER_URN}:name.givenName", "Barbara"),
            ('userName[type eq "x"]', None),
            ("userName.x", None),
        ],
    )
    def test_values(self, path: str, expected: Any) -> None:
        assert get_value(user(), path) == expected

    def test_primary_preferred_among_matches(self) -> None:
        assert get_value(user(), 'emails[type eq "work"].value') == "primary-work@example.com"

    def test_primary_preferred_without_filter(self) -> None:
        assert get_value(user(), "emails.value") == "primary-work@example.com"
        assert get_value(user(), "emails") == "primary-work@example.com"

    def test_first_match_without_primary(self) -> None:
        resource = {"emails": [{"type": "work", "value": "a"}, {"type": "work", "value": "b"}]}
        assert get_value(resource, 'emails[type eq "work"].value') == "a"

    def test_primary_must_be_true_boolean(self) -> None:
        resource = {
            "emails": [
                {"type": "work", "value": "a", "primary": False},
                {"type": "work", "value": "b", "primary": "true"},
            ]
        }
        assert get_value(resource, 'emails[type eq "work"].value') == "a"

    def test_complex_filter_in_path(self) -> None:
        resource = {
            "emails": [
                {"type": "work", "value": "a@x.org"},
                {"type": "work", "value": "b@example.com"},
            ]
        }
        path = 'emails[type eq "work" and value ew "example.com"].value'
        assert get_value(resource, path) == "b@example.com"

    def test_missing_extension(self) -> None:
        assert get_value({"userName": "x"}, f"{ENTERPRISE_URN}:department") is None
        assert get_value({ENTERPRISE_URN: "junk"}, f"{ENTERPRISE_URN}:department") is None

    def test_whole_complex_value(self) -> None:
        assert get_value(user(), "name") == {"givenName": "Barbara", "familyName": "Jensen"}

    def test_skips_non_dict_items(self) -> None:
        assert get_value({"emails": ["x", {"type": "work", "value": "v"}]}, "emails.value") == "v"


class TestSetValue:
    def test_does_not_mutate_input(self) -> None:
        original = user()
        snapshot = copy.deepcopy(original)
        paths = [
            ("userName", "new"),
            ("name.givenName", None),
            ("name.familyName", "X"),
            ('emails[type eq "work"].value', "w@x"),
            ('emails[type eq "home"].value', None),
            ('phoneNumbers[type eq "mobile"].value', "+1"),
            ('addresses[type eq "work"].locality', ""),
            (f"{ENTERPRISE_URN}:department", "Ops"),
            (f"{ENTERPRISE_URN}:manager.displayName", None),
            ("schemas", None),
        ]
        for path, value in paths:
            result = set_value(original, path, value)
            assert original == snapshot, path
            assert result is not original

    def test_result_shares_no_nested_objects(self) -> None:
        original = user()
        result = set_value(original, "userName", "changed")
        result["emails"][0]["value"] = "mutated"
        result["name"]["givenName"] = "mutated"
        result[ENTERPRISE_URN]["department"] = "mutated"
        assert original == user()

    def test_set_core_attribute(self) -> None:
        result = set_value(user(), "userName", "babs")
        assert result["userName"] == "babs"
        assert get_value(result, "userName") == "babs"

    def test_keeps_existing_key_spelling(self) -> None:
        result = set_value({"UserName": "a"}, "userName", "b")
        assert result == {"UserName": "b"}

    def test_set_sub_attribute_on_existing_complex(self) -> None:
        result = set_value(user(), "name.middleName", "Jane")
        assert result["name"] == {
            "givenName": "Barbara",
            "familyName": "Jensen",
            "middleName": "Jane",
        }

    def test_set_sub_attribute_creates_complex(self) -> None:
        assert set_value({}, "name.givenName", "G") == {"name": {"givenName": "G"}}

    def test_set_sub_attribute_replaces_non_dict(self) -> None:
        assert set_value({"name": "str"}, "name.givenName", "G") == {"name": {"givenName": "G"}}

    def test_update_typed_item_prefers_primary(self) -> None:
        result = set_value(user(), 'emails[type eq "work"].value', "new@example.com")
        assert result["emails"] == [
            {"type": "work", "value": "first-work@example.com"},
            {"type": "work", "value": "new@example.com", "primary": True},
            {"type": "home", "value": "home@example.org"},
        ]

    def test_creates_typed_multi_valued_item(self) -> None:
        result = set_value(user(), 'phoneNumbers[type eq "mobile"].value', "+49 170 1")
        assert result["phoneNumbers"] == [{"type": "mobile", "value": "+49 170 1"}]
        assert get_value(result, 'phoneNumbers[type eq "mobile"].value') == "+49 170 1"

    def test_appends_typed_item_to_existing_list(self) -> None:
        result = set_value(user(), 'emails[type eq "other"].value', "o@x")
        assert result["emails"][-1] == {"type": "other", "value": "o@x"}
        assert len(result["emails"]) == 4

    def test_creates_item_with_all_equality_filter_parts(self) -> None:
        path = 'emails[type eq "work" and primary eq true].value'
        result = set_value({}, path, "w@x")
        assert result == {"emails": [{"type": "work", "primary": True, "value": "w@x"}]}
        assert get_value(result, path) == "w@x"

    def test_creates_item_with_other_sub_attribute(self) -> None:
        result = set_value({}, 'addresses[type eq "work"].locality', "Paris")
        assert result == {"addresses": [{"type": "work", "locality": "Paris"}]}
        result = set_value(result, 'addresses[type eq "work"].postalCode', "75001")
        assert result == {
            "addresses": [{"type": "work", "locality": "Paris", "postalCode": "75001"}]
        }

    def test_case_insensitive_attribute_key_is_reused(self) -> None:
        result = set_value({"Emails": []}, 'emails[type eq "work"].value', "w@x")
        assert result == {"Emails": [{"type": "work", "value": "w@x"}]}

    @pytest.mark.parametrize("empty", [None, ""])
    def test_remove_core_attribute(self, empty: Any) -> None:
        result = set_value(user(), "userName", empty)
        assert "userName" not in result
        assert get_value(result, "userName") is None

    @pytest.mark.parametrize("empty", [None, ""])
    def test_remove_sub_attribute(self, empty: Any) -> None:
        result = set_value(user(), "name.givenName", empty)
        assert result["name"] == {"familyName": "Jensen"}

    def test_removing_last_sub_attribute_removes_complex(self) -> None:
        assert set_value({"name": {"givenName": "x"}}, "name.givenName", None) == {}

    @pytest.mark.parametrize("empty", [None, ""])
    def test_remove_item_when_only_type_remains(self, empty: Any) -> None:
        result = set_value(user(), 'emails[type eq "home"].value', empty)
        assert [e["type"] for e in result["emails"]] == ["work", "work"]
        assert get_value(result, 'emails[type eq "home"].value') is None

    def test_remove_item_when_only_type_and_primary_remain(self) -> None:
        resource = {"emails": [{"type": "home", "value": "a", "primary": True}]}
        assert set_value(resource, 'emails[type eq "home"].value', None) == {}

    def test_item_kept_while_other_sub_attributes_remain(self) -> None:
        result = set_value(user(), 'addresses[type eq "work"].locality', None)
        assert result["addresses"] == [{"type": "work", "postalCode": "10115"}]
        result = set_value(result, 'addresses[type eq "work"].postalCode', "")
        assert "addresses" not in result

    def test_item_with_display_is_kept(self) -> None:
        resource = {"emails": [{"type": "work", "value": "a", "display": "A"}]}
        result = set_value(resource, 'emails[type eq "work"].value', None)
        assert result == {"emails": [{"type": "work", "display": "A"}]}

    def test_remove_absent_value_is_noop(self) -> None:
        assert set_value(user(), 'phoneNumbers[type eq "fax"].value', None) == user()
        assert set_value(user(), "title", None) == user()
        assert set_value({}, "name.givenName", "") == {}
        assert set_value({"userName": "x"}, f"{ENTERPRISE_URN}:department", None) == {
            "userName": "x"
        }

    def test_set_enterprise_attribute_creates_extension_and_schema(self) -> None:
        result = set_value({"userName": "x"}, f"{ENTERPRISE_URN}:department", "Ops")
        assert result[ENTERPRISE_URN] == {"department": "Ops"}
        assert result["schemas"] == [CORE_USER_URN, ENTERPRISE_URN]

    def test_set_enterprise_attribute_keeps_existing_schemas(self) -> None:
        resource = {"schemas": [CORE_USER_URN], "userName": "x"}
        result = set_value(resource, f"{ENTERPRISE_URN}:manager.displayName", "Boss")
        assert result[ENTERPRISE_URN] == {"manager": {"displayName": "Boss"}}
        assert result["schemas"] == [CORE_USER_URN, ENTERPRISE_URN]
        again = set_value(result, f"{ENTERPRISE_URN}:costCenter", "4130")
        assert again["schemas"] == [CORE_USER_URN, ENTERPRISE_URN]
        assert again[ENTERPRISE_URN] == {"manager": {"displayName": "Boss"}, "costCenter": "4130"}

    def test_update_enterprise_attribute(self) -> None:
        result = set_value(user(), f"{ENTERPRISE_URN}:department", "Ops")
        assert result[ENTERPRISE_URN] == {
            "department": "Ops",
            "manager": {"displayName": "John Smith"},
        }

    def test_enterprise_key_matched_case_insensitively(self) -> None:
        resource = {ENTERPRISE_URN.lower(): {"department": "Sales"}}
        result = set_value(resource, f"{ENTERPRISE_URN}:department", "Ops")
        assert result == {ENTERPRISE_URN.lower(): {"department": "Ops"}}

    def test_remove_enterprise_sub_attribute(self) -> None:
        result = set_value(user(), f"{ENTERPRISE_URN}:manager.displayName", None)
        assert result[ENTERPRISE_URN] == {"department": "Sales"}

    def test_core_urn_path_sets_top_level(self) -> None:
        result = set_value({}, f"{CORE_USER_URN}:name.familyName", "J")
        assert result == {"name": {"familyName": "J"}}

    def test_invalid_path_raises(self) -> None:
        with pytest.raises(InvalidPath):
            set_value({}, "bad path", "x")
        with pytest.raises(InvalidPath):
            get_value({}, 'emails[type eq "work".value')


PATHS = [
    "userName",
    "displayName",
    "name.givenName",
    "name.familyName",
    'emails[type eq "work"].value',
    'emails[type eq "home"].value',
    'phoneNumbers[type eq "mobile"].value',
    'addresses[type eq "work"].locality',
    'addresses[type eq "work"].postalCode',
    f"{ENTERPRISE_URN}:department",
    f"{ENTERPRISE_URN}:manager.displayName",
]


@settings(max_examples=100, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=5)),
        ),
        max_size=8,
    )
)
def test_set_then_get_round_trip(ops: list[tuple[str, str | None]]) -> None:
    """After any sequence of sets, each path reads back its last written value."""
    resource: dict[str, Any] = {"userName": "start"}
    expected: dict[str, str | None] = {"userName": "start"}
    for path, value in ops:
        previous, snapshot = resource, copy.deepcopy(resource)
        resource = set_value(previous, path, value)
        assert previous == snapshot
        expected[path] = value or None
        for other, want in expected.items():
            assert get_value(resource, other) == want, (other, ops)


def test_clearing_the_last_extension_attribute_drops_the_extension_and_its_schema() -> None:
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
        "userName": "u",
        ENTERPRISE_URN: {"department": "Sales"},
    }
    cleared = set_value(user, f"{ENTERPRISE_URN}:department", None)
    assert ENTERPRISE_URN not in cleared
    assert cleared["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User"]


def test_clearing_a_filtered_path_clears_every_matching_value() -> None:
    user = {
        "userName": "u",
        "emails": [
            {"type": "work", "value": "a@x", "primary": True},
            {"type": "work", "value": "b@x"},
            {"type": "home", "value": "c@x"},
        ],
    }
    cleared = set_value(user, 'emails[type eq "work"].value', None)
    assert cleared["emails"] == [{"type": "home", "value": "c@x"}]
    assert get_value(cleared, 'emails[type eq "work"].value') is None


class TestResolvePath:
    """One resolver for attribute names: short, fully qualified and any case alike."""

    CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
    ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

    @pytest.mark.parametrize(
        ("text", "name"),
        [
            ("userName", "userName"),
            ("USERNAME", "userName"),
            (f"{CORE}:userName", "userName"),
            (f"{CORE.upper()}:name.GIVENNAME", "name.givenName"),
            ("meta.created", "meta.created"),
            (f"{ENTERPRISE}:department", f"{ENTERPRISE}:department"),
            (f"{ENTERPRISE.lower()}:manager.value", f"{ENTERPRISE}:manager.value"),
        ],
    )
    def test_user_attributes(self, text: str, name: str) -> None:
        resolved = resolve_path(USER, text)
        assert resolved is not None and resolved.name == name

    @pytest.mark.parametrize(
        ("kind", "text"),
        [
            ("user", "nothing"),
            ("user", "name.nothing"),
            ("user", "department"),  # an extension attribute needs its URN
            ("user", "urn:ietf:params:scim:schemas:core:2.0:Group:displayName"),
            ("group", "urn:ietf:params:scim:schemas:core:2.0:User:displayName"),
            ("group", "userName"),
        ],
    )
    def test_unknown_attributes_resolve_to_none(self, kind: str, text: str) -> None:
        assert resolve_path(USER if kind == "user" else GROUP, text) is None

    def test_value_filters_and_malformed_paths_are_invalid(self) -> None:
        for text in ['emails[type eq "work"].value', "a b", "urn:x:"]:
            with pytest.raises(InvalidPath):
                resolve_path(USER, text)
