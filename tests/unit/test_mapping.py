"""Unit tests for connector.mapping and the shipped catalogues (connector/catalogues/*.toml)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.catalogue import Catalogue, Field, load_catalogue
from connector.mapping import MappingError, MappingRow, apply, invert, rows_from_json, validate
from scim.filter import ENTERPRISE_URN
from scim.paths import get_value, parse_path, set_value

CONFIG_DIR = None  # the catalogues shipped in the package


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(CONFIG_DIR)


@pytest.fixture(scope="module")
def default_rows(catalogue: Catalogue) -> tuple[MappingRow, ...]:
    return tuple(MappingRow(u, c) for u, c in catalogue.default_rows)


SMALL = Catalogue(
    user_fields=tuple(
        Field(i, i)
        for i in ("userName", "name.givenName", "name.familyName", 'emails[type eq "work"].value')
    ),
    contact_fields=tuple(Field(i, i) for i in ("username", "firstName", "lastName", "email")),
    default_rows=(),
)


def barbara() -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
        "id": "abc",
        "userName": "bjensen",
        "active": True,
        "locale": "de-DE",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": ""},
        "displayName": "Babs Jensen",
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": True},
            {"type": "home", "value": "babs@jensen.org"},
        ],
        "phoneNumbers": [{"type": "mobile", "value": "+49 170 0000000"}],
        "addresses": [{"type": "work", "locality": "Berlin", "country": "DE"}],
        ENTERPRISE_URN: {
            "department": "Tour Operations",
            "organization": "ACME",
            "manager": {"value": "m1", "displayName": "John Smith"},
        },
    }


# ---------------------------------------------------------------- catalogue


class TestShippedCatalogue:
    def test_loads(self, catalogue: Catalogue) -> None:
        assert len(catalogue.user_fields) > 10
        assert len(catalogue.contact_fields) > 10
        assert "userName" in catalogue.user_ids
        assert "email" in catalogue.contact_ids

    def test_every_user_field_path_parses(self, catalogue: Catalogue) -> None:
        for field in catalogue.user_fields:
            parsed = parse_path(field.id)
            assert parsed.attr, field.id
            assert field.label, field.id

    def test_enterprise_fields_keep_their_urn(self, catalogue: Catalogue) -> None:
        enterprise = [f.id for f in catalogue.user_fields if f.id.startswith(ENTERPRISE_URN)]
        assert enterprise
        for field_id in enterprise:
            assert parse_path(field_id).uri == ENTERPRISE_URN

    def test_ids_are_unique(self, catalogue: Catalogue) -> None:
        assert len(catalogue.user_ids) == len(catalogue.user_fields)
        assert len(catalogue.contact_ids) == len(catalogue.contact_fields)

    def test_default_mapping_validates(
        self, catalogue: Catalogue, default_rows: tuple[MappingRow, ...]
    ) -> None:
        assert default_rows
        assert validate(default_rows, catalogue) == default_rows

    def test_default_mapping_is_one_to_one(self, default_rows: tuple[MappingRow, ...]) -> None:
        users = [r.user_field for r in default_rows]
        contacts = [r.contact_field for r in default_rows]
        assert len(set(users)) == len(users)
        assert len(set(contacts)) == len(contacts)

    def test_every_user_field_can_be_written_and_read(self, catalogue: Catalogue) -> None:
        for field in catalogue.user_fields:
            resource = set_value({}, field.id, "probe")
            assert get_value(resource, field.id) == "probe", field.id
            assert get_value(set_value(resource, field.id, None), field.id) is None, field.id


# --------------------------------------------------------------- rows_from_json


class TestRowsFromJson:
    def test_parses_rows(self) -> None:
        raw = [
            {"userField": "userName", "contactField": "username"},
            {"userField": "name.givenName", "contactField": "firstName"},
        ]
        rows = rows_from_json(raw)
        assert rows == [
            MappingRow("userName", "username"),
            MappingRow("name.givenName", "firstName"),
        ]
        assert [r.to_json() for r in rows] == raw

    def test_empty_list(self) -> None:
        assert rows_from_json([]) == []

    @pytest.mark.parametrize("raw", [None, {}, "rows", 3, {"userField": "a", "contactField": "b"}])
    def test_not_a_list(self, raw: Any) -> None:
        with pytest.raises(MappingError) as info:
            rows_from_json(raw)
        assert info.value.row is None
        assert "list" in str(info.value)

    @pytest.mark.parametrize(
        "item",
        [
            {"userField": "userName"},
            {"contactField": "username"},
            {"userField": "userName", "contactField": "username", "extra": 1},
            {"userfield": "userName", "contactField": "username"},
            ["userName", "username"],
            "userName",
            None,
        ],
    )
    def test_wrong_keys(self, item: Any) -> None:
        raw = [{"userField": "userName", "contactField": "username"}, item]
        with pytest.raises(MappingError) as info:
            rows_from_json(raw)
        assert info.value.row == 2
        assert "row 2" in str(info.value)

    @pytest.mark.parametrize(
        "item",
        [
            {"userField": 1, "contactField": "username"},
            {"userField": "userName", "contactField": None},
            {"userField": ["userName"], "contactField": "username"},
        ],
    )
    def test_non_string_ids(self, item: Any) -> None:
        with pytest.raises(MappingError) as info:
            rows_from_json([item])
        assert info.value.row == 1
        assert "strings" in str(info.value)


# ---------------------------------------------------------------- validate


class TestValidate:
    def test_valid_rows_returned_as_tuple(self) -> None:
        rows = [MappingRow("userName", "username"), MappingRow("name.givenName", "firstName")]
        assert validate(rows, SMALL) == tuple(rows)

    def test_empty_mapping_is_valid(self) -> None:
        assert validate([], SMALL) == ()

    def test_accepts_generator(self) -> None:
        rows = (MappingRow("userName", "username") for _ in range(1))
        assert validate(rows, SMALL) == (MappingRow("userName", "username"),)

    def test_unknown_user_field(self) -> None:
        rows = [MappingRow("userName", "username"), MappingRow("nickName", "firstName")]
        with pytest.raises(MappingError) as info:
            validate(rows, SMALL)
        assert info.value.row == 2
        assert info.value.field == "nickName"
        assert "row 2" in str(info.value)
        assert "unknown user field" in str(info.value)

    def test_unknown_contact_field(self) -> None:
        rows = [MappingRow("userName", "nickname")]
        with pytest.raises(MappingError) as info:
            validate(rows, SMALL)
        assert info.value.row == 1
        assert info.value.field == "nickname"
        assert "unknown contact field" in str(info.value)

    def test_user_field_spelling_is_exact(self) -> None:
        with pytest.raises(MappingError) as info:
            validate([MappingRow("username", "username")], SMALL)
        assert info.value.field == "username"

    def test_duplicate_user_field_names_both_rows(self) -> None:
        rows = [
            MappingRow("userName", "username"),
            MappingRow("name.givenName", "firstName"),
            MappingRow("userName", "lastName"),
        ]
        with pytest.raises(MappingError) as info:
            validate(rows, SMALL)
        message = str(info.value)
        assert info.value.row == 3
        assert info.value.field == "userName"
        assert "row 3" in message
        assert "row 1" in message
        assert "user field" in message

    def test_duplicate_contact_field_names_both_rows(self) -> None:
        rows = [
            MappingRow("userName", "username"),
            MappingRow("name.givenName", "firstName"),
            MappingRow("name.familyName", "lastName"),
            MappingRow('emails[type eq "work"].value', "firstName"),
        ]
        with pytest.raises(MappingError) as info:
            validate(rows, SMALL)
        message = str(info.value)
        assert info.value.row == 4
        assert info.value.field == "firstName"
        assert "row 4" in message
        assert "row 2" in message
        assert "contact field" in message

    def test_duplicates_against_real_catalogue(
        self, catalogue: Catalogue, default_rows: tuple[MappingRow, ...]
    ) -> None:
        rows = [*default_rows, MappingRow("locale", "email")]
        with pytest.raises(MappingError) as info:
            validate(rows, catalogue)
        email_row = next(i for i, r in enumerate(default_rows, 1) if r.contact_field == "email")
        assert info.value.row == len(rows)
        assert f"row {email_row}" in str(info.value)

    def test_mapping_error_is_value_error(self) -> None:
        assert issubclass(MappingError, ValueError)


# ---------------------------------------------------------------- apply


class TestApply:
    def test_default_mapping(self, default_rows: tuple[MappingRow, ...]) -> None:
        fields = apply(barbara(), default_rows)
        assert fields == {
            "username": "bjensen",
            "firstName": "Barbara",
            "lastName": "Jensen",
            "displayName": "Babs Jensen",
            "email": "bjensen@example.com",
            "email2": "babs@jensen.org",
            "mobile": "+49 170 0000000",
            "city": "Berlin",
            "country": "DE",
            "department": "Tour Operations",
            "company": "ACME",
            "manager": "John Smith",
        }

    def test_unmapped_fields_absent(self) -> None:
        fields = apply(barbara(), [MappingRow("userName", "username")])
        assert fields == {"username": "bjensen"}

    def test_empty_values_left_out(self) -> None:
        user = {"userName": "x", "displayName": "", "name": {"middleName": ""}, "title": None}
        rows = [
            MappingRow("userName", "username"),
            MappingRow("displayName", "displayName"),
            MappingRow("name.middleName", "middleName"),
            MappingRow("title", "jobTitle"),
            MappingRow("nickName", "nickname"),
        ]
        assert apply(user, rows) == {"username": "x"}

    def test_booleans_become_text(self) -> None:
        rows = [MappingRow("active", "notes")]
        assert apply({"active": True}, rows) == {"notes": "true"}
        assert apply({"active": False}, rows) == {"notes": "false"}

    def test_numbers_become_text(self) -> None:
        assert apply({"age": 42}, [MappingRow("age", "notes")]) == {"notes": "42"}
        assert apply({"age": 0}, [MappingRow("age", "notes")]) == {"notes": "0"}

    def test_complex_values_left_out(self) -> None:
        rows = [MappingRow("name", "notes"), MappingRow("x", "other")]
        assert apply({"name": {"givenName": "a"}, "x": [1, 2]}, rows) == {}

    def test_does_not_mutate_user(self, default_rows: tuple[MappingRow, ...]) -> None:
        user = barbara()
        apply(user, default_rows)
        assert user == barbara()

    def test_empty_rows(self) -> None:
        assert apply(barbara(), []) == {}


# ---------------------------------------------------------------- invert


class TestInvert:
    def test_sets_mapped_fields(self, default_rows: tuple[MappingRow, ...]) -> None:
        contact = {"username": "jdoe", "firstName": "John", "email": "j@x.org", "city": "Rome"}
        result = invert(contact, default_rows, {})
        assert result["userName"] == "jdoe"
        assert result["name"] == {"givenName": "John"}
        assert result["emails"] == [{"type": "work", "value": "j@x.org"}]
        assert result["addresses"] == [{"type": "work", "locality": "Rome"}]
        assert apply(result, default_rows) == contact

    def test_clears_mapped_fields_for_empty_contact_fields(
        self, default_rows: tuple[MappingRow, ...]
    ) -> None:
        contact = {"username": "bjensen", "firstName": "", "email": None}
        result = invert(contact, default_rows, barbara())
        assert get_value(result, "name.givenName") is None
        assert get_value(result, "name.familyName") is None
        assert get_value(result, 'emails[type eq "work"].value') is None
        assert get_value(result, 'emails[type eq "home"].value') is None
        assert get_value(result, f"{ENTERPRISE_URN}:department") is None
        assert get_value(result, f"{ENTERPRISE_URN}:manager.displayName") is None
        assert "emails" not in result
        assert "name" not in result
        assert apply(result, default_rows) == {"username": "bjensen"}

    def test_leaves_unmapped_user_fields_alone(self, default_rows: tuple[MappingRow, ...]) -> None:
        result = invert({}, default_rows, barbara())
        assert result["id"] == "abc"
        assert result["active"] is True
        assert result["locale"] == "de-DE"
        assert result[ENTERPRISE_URN]["manager"] == {"value": "m1"}

    def test_only_given_rows_are_touched(self) -> None:
        rows = [MappingRow("name.givenName", "firstName")]
        result = invert({"firstName": "Anna", "lastName": "Ignored"}, rows, barbara())
        expected = barbara()
        expected["name"]["givenName"] = "Anna"
        assert result == expected

    def test_does_not_mutate_user(self, default_rows: tuple[MappingRow, ...]) -> None:
        user = barbara()
        snapshot = copy.deepcopy(user)
        invert({"firstName": "X"}, default_rows, user)
        assert user == snapshot


contact_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8
)


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_invert_then_apply_round_trips(data: st.DataObject) -> None:
    catalogue = load_catalogue(CONFIG_DIR)
    rows = tuple(MappingRow(u, c) for u, c in catalogue.default_rows)
    chosen = data.draw(st.sets(st.sampled_from([r.contact_field for r in rows])))
    contact = {name: data.draw(contact_values) for name in sorted(chosen)}
    user = invert(contact, rows, barbara())
    assert apply(user, rows) == contact
