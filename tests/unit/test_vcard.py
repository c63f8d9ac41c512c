"""Unit tests for connector.vcard (vCard 4.0, RFC 6350)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.vcard import render, tel_uri

CONTACT_ID = "2f1c4c3e-8a2b-4f57-9d8e-0b6c1e2a3d4f"


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] in "nN" else m[1], text)


def physical_lines(card: str) -> list[str]:
    assert card.endswith("\r\n")
    return card[: -len("\r\n")].split("\r\n")


def physical_group(card: str, start: str) -> list[str]:
    """The physical lines of the one content line that begins with ``start``."""
    lines = physical_lines(card)
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    group = [lines[first]]
    for line in lines[first + 1 :]:
        if not line.startswith(" "):
            break
        group.append(line)
    return group


def logical_lines(card: str) -> list[str]:
    """Unfold (RFC 6350 §3.2): a CRLF followed by one space continues the line."""
    return physical_lines(card.replace("\r\n ", ""))


def prop(card: str, name: str) -> list[str]:
    """Every unfolded line whose property name (before ; or :) is ``name``."""
    out = []
    for line in logical_lines(card):
        head = line.split(":", 1)[0].split(";", 1)[0]
        if head == name:
            out.append(line)
    return out


def assert_well_formed(card: str) -> None:
    lines = physical_lines(card)
    for line in lines:
        assert "\r" not in line and "\n" not in line, repr(line)
        assert len(line.encode("utf-8")) <= 75, repr(line)
    logical = logical_lines(card)
    assert logical[0] == "BEGIN:VCARD"
    assert logical[1] == "VERSION:4.0"
    assert logical[-1] == "END:VCARD"
    assert sum(1 for line in logical if line == "BEGIN:VCARD") == 1
    assert sum(1 for line in logical if line == "END:VCARD") == 1


FULL: dict[str, Any] = {
    "firstName": "Barbara",
    "lastName": "Jensen",
    "middleName": "J",
    "title": "Dr.",
    "suffix": "III",
    "nickname": "Babs",
    "company": "ACME",
    "department": "Tour Operations",
    "jobTitle": "Tour Guide",
    "email": "bjensen@example.com",
    "email2": "babs@jensen.org",
    "phone": "+1-555-555-5555",
    "mobile": "+1-555-555-4444",
    "fax": "+1-555-555-3333",
    "street": "100 Universal City Plaza",
    "city": "Hollywood",
    "region": "CA",
    "postalCode": "91608",
    "country": "USA",
    "language": "en-US",
    "timezone": "America/Los_Angeles",
    "notes": "Likes tours",
}


class TestStructure:
    def test_minimal_card(self) -> None:
        card = render(CONTACT_ID, {})
        assert card == (
            "BEGIN:VCARD\r\n"
            "VERSION:4.0\r\n"
            f"UID:urn:uuid:{CONTACT_ID}\r\n"
            f"FN:{CONTACT_ID}\r\n"
            "N:;;;;\r\n"
            "END:VCARD\r\n"
        )

    def test_crlf_line_endings_only(self) -> None:
        card = render(CONTACT_ID, FULL, revision="2024-01-02T03:04:05Z")
        assert card.endswith("\r\n")
        assert card.count("\n") == card.count("\r\n")
        assert card.count("\r") == card.count("\r\n")
        assert_well_formed(card)

    def test_required_properties_in_order(self) -> None:
        logical = logical_lines(render(CONTACT_ID, FULL))
        assert logical[:5] == [
            "BEGIN:VCARD",
            "VERSION:4.0",
            f"UID:urn:uuid:{CONTACT_ID}",
            "FN:Dr. Barbara J Jensen III",
            "N:Jensen;Barbara;J;Dr.;III",
        ]
        assert logical[-1] == "END:VCARD"

    def test_all_properties(self) -> None:
        card = render(CONTACT_ID, FULL, revision="2024-01-02T03:04:05Z")
        assert prop(card, "NICKNAME") == ["NICKNAME:Babs"]
        assert prop(card, "ORG") == ["ORG:ACME;Tour Operations"]
        assert prop(card, "TITLE") == ["TITLE:Tour Guide"]
        assert prop(card, "EMAIL") == [
            "EMAIL;TYPE=work:bjensen@example.com",
            "EMAIL;TYPE=home:babs@jensen.org",
        ]
        assert prop(card, "TEL") == [
            'TEL;VALUE=uri;TYPE="work,voice":tel:+1-555-555-5555',
            'TEL;VALUE=uri;TYPE="cell":tel:+1-555-555-4444',
            'TEL;VALUE=uri;TYPE="work,fax":tel:+1-555-555-3333',
        ]
        assert prop(card, "ADR") == [
            "ADR;TYPE=work:;;100 Universal City Plaza;Hollywood;CA;91608;USA"
        ]
        assert prop(card, "LANG") == ["LANG:en-US"]
        assert prop(card, "TZ") == ["TZ:America/Los_Angeles"]
        assert prop(card, "NOTE") == ["NOTE:Likes tours"]
        assert prop(card, "REV") == ["REV:2024-01-02T03:04:05Z"]

    def test_no_revision_no_rev(self) -> None:
        assert prop(render(CONTACT_ID, FULL), "REV") == []

    def test_empty_fields_omitted(self) -> None:
        fields = {"firstName": "A", "email": "", "phone": None, "notes": "", "company": None}
        card = render(CONTACT_ID, fields)
        for name in ("EMAIL", "TEL", "NOTE", "ORG", "ADR", "TITLE", "NICKNAME"):
            assert prop(card, name) == [], name
        assert_well_formed(card)

    def test_partial_address(self) -> None:
        card = render(CONTACT_ID, {"city": "Berlin", "country": "DE"})
        assert prop(card, "ADR") == ["ADR;TYPE=work:;;;Berlin;;;DE"]

    def test_department_without_company(self) -> None:
        assert prop(render(CONTACT_ID, {"department": "R&D"}), "ORG") == ["ORG:;R&D"]

    def test_non_string_values_rendered_as_text(self) -> None:
        card = render(CONTACT_ID, {"notes": 42, "firstName": "A"})
        assert prop(card, "NOTE") == ["NOTE:42"]


class TestFormattedName:
    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({"displayName": "Babs", "firstName": "Barbara"}, "FN:Babs"),
            ({"firstName": "Barbara", "lastName": "Jensen"}, "FN:Barbara Jensen"),
            ({"lastName": "Jensen"}, "FN:Jensen"),
            ({"company": "ACME", "email": "a@b.c"}, "FN:ACME"),
            ({"email": "a@b.c"}, "FN:a@b.c"),
            ({"displayName": ""}, f"FN:{CONTACT_ID}"),
        ],
    )
    def test_fallbacks(self, fields: dict[str, str], expected: str) -> None:
        assert prop(render(CONTACT_ID, fields), "FN") == [expected]


class TestEscaping:
    @pytest.mark.parametrize(
        ("raw", "escaped"),
        [
            ("Smith, John", "Smith\\, John"),
            ("a;b", "a\\;b"),
            ("back\\slash", "back\\\\slash"),
            ("two\nlines", "two\\nlines"),
            ("all ,;\\\n", "all \\,\\;\\\\\\n"),
        ],
    )
    def test_text_values_escaped(self, raw: str, escaped: str) -> None:
        card = render(CONTACT_ID, {"notes": raw, "displayName": raw, "company": raw})
        assert prop(card, "NOTE") == [f"NOTE:{escaped}"]
        assert prop(card, "FN") == [f"FN:{escaped}"]
        assert prop(card, "ORG") == [f"ORG:{escaped};"]
        assert_well_formed(card)

    def test_structured_components_escaped_individually(self) -> None:
        card = render(CONTACT_ID, {"lastName": "O;Brien", "firstName": "Ann, Marie"})
        assert prop(card, "N") == ["N:O\\;Brien;Ann\\, Marie;;;"]
        card = render(CONTACT_ID, {"street": "Main St. 1; Apt 2", "city": "Paris, TX"})
        assert prop(card, "ADR") == ["ADR;TYPE=work:;;Main St. 1\\; Apt 2;Paris\\, TX;;;"]

    def test_email_escaped(self) -> None:
        card = render(CONTACT_ID, {"email": "odd,addr@example.com"})
        assert prop(card, "EMAIL") == ["EMAIL;TYPE=work:odd\\,addr@example.com"]

    def test_newline_in_phone_cannot_inject_property(self) -> None:
        card = render(CONTACT_ID, {"phone": "123\nX-INJECTED:1"})
        assert_well_formed(card)
        assert not any(line.startswith("X-INJECTED") for line in logical_lines(card))

    def test_carriage_return_escaped(self) -> None:
        card = render(CONTACT_ID, {"notes": "line1\r\nline2"})
        assert_well_formed(card)
        assert prop(card, "NOTE") == ["NOTE:line1\\nline2"]


class TestFolding:
    def test_short_lines_not_folded(self) -> None:
        card = render(CONTACT_ID, {"notes": "x" * 70})
        assert "\r\n " not in card

    def test_line_of_exactly_75_octets_not_folded(self) -> None:
        value = "x" * (75 - len("NOTE:"))
        card = render(CONTACT_ID, {"notes": value})
        assert f"\r\nNOTE:{value}\r\n" in card

    def test_ascii_folding_positions(self) -> None:
        value = "x" * 200
        card = render(CONTACT_ID, {"notes": value})
        lines = physical_group(card, "NOTE:")
        assert len(lines) == 3
        assert len(lines[0]) == 75
        assert lines[1] == " " + "x" * 74
        assert lines[2] == " " + "x" * (200 + len("NOTE:") - 75 - 74)
        assert card.endswith(lines[2] + "\r\nEND:VCARD\r\n")
        assert prop(card, "NOTE") == [f"NOTE:{value}"]

    @pytest.mark.parametrize("char", ["ä", "€", "日", "😀"])
    def test_multibyte_characters_never_split(self, char: str) -> None:
        value = char * 60
        card = render(CONTACT_ID, {"notes": value, "lastName": value})
        for line in physical_lines(card):
            encoded = line.encode("utf-8")
            assert len(encoded) <= 75
            assert encoded.decode("utf-8") == line
        assert prop(card, "NOTE") == [f"NOTE:{value}"]
        assert prop(card, "N") == [f"N:{value};;;;"]
        # Folded greedily: no physical line could have taken one more character.
        width = len(char.encode("utf-8"))
        note_lines = physical_group(card, "NOTE:")
        assert len(note_lines) >= 2
        for line in note_lines[:-1]:
            assert len(line.encode("utf-8")) + width > 75

    def test_non_ascii_name(self) -> None:
        fields = {
            "firstName": "Zoë-Åsa",
            "lastName": "Müller-Lüdenscheidt-Ölçekçi-Østergård-Ænæs-Çağlayan-Şahin",
        }
        card = render(CONTACT_ID, fields)
        assert_well_formed(card)
        assert prop(card, "FN") == [f"FN:{fields['firstName']} {fields['lastName']}"]
        assert prop(card, "N") == [f"N:{fields['lastName']};{fields['firstName']};;;"]
        assert len(physical_lines(card)) > len(logical_lines(card))

    def test_escape_sequences_survive_folding(self) -> None:
        value = ",;\\" * 40
        card = render(CONTACT_ID, {"notes": value})
        assert_well_formed(card)
        assert prop(card, "NOTE") == ["NOTE:" + "\\,\\;\\\\" * 40]


field_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=120
)


@settings(max_examples=100, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            k: field_text
            for k in ("firstName", "lastName", "displayName", "company", "notes", "city")
        },
    )
)
def test_any_text_gives_well_formed_card(fields: dict[str, str]) -> None:
    card = render(CONTACT_ID, fields)
    assert_well_formed(card)
    if fields.get("notes"):
        [note] = prop(card, "NOTE")
        assert unescape(note[len("NOTE:") :]) == fields["notes"]


# RFC 3966 global-number (with an optional extension), as its ABNF says.
_RFC3966_GLOBAL = re.compile(r"tel:\+[0-9.()-]*[0-9][0-9.()-]*(;ext=[0-9.()-]*[0-9][0-9.()-]*)?")


class TestTelephone:
    @pytest.mark.parametrize(
        ("value", "uri"),
        [
            ("+49 30 9999", "tel:+49-30-9999"),
            ("+1-555-555-5555", "tel:+1-555-555-5555"),
            ("+1 (555) 555.0123", "tel:+1-(555)-555.0123"),
            ("  +49   30 - 9999 ", "tel:+49-30-9999"),
            ("+49/30/9999", "tel:+49-30-9999"),
            ("+ 49 30 9999", "tel:+49-30-9999"),
            ("+49 30 9999 x 12", "tel:+49-30-9999;ext=12"),
            ("+49 30 9999 ext. 12", "tel:+49-30-9999;ext=12"),
            ("+44 20 7946 0958;ext=5", "tel:+44-20-7946-0958;ext=5"),
        ],
    )
    def test_a_global_number_is_a_valid_tel_uri(self, value: str, uri: str) -> None:
        assert tel_uri(value) == uri
        assert _RFC3966_GLOBAL.fullmatch(uri)
        card = render(CONTACT_ID, {"phone": value})
        assert prop(card, "TEL") == [f'TEL;VALUE=uri;TYPE="work,voice":{uri}']

    @pytest.mark.parametrize(
        "value", ["030 9999", "0049 30 9999", "+", "call me", "+49 30 99 99abc", "+49 30 ext"]
    )
    def test_a_number_that_cannot_be_a_tel_uri_is_written_as_text(self, value: str) -> None:
        assert tel_uri(value) is None
        card = render(CONTACT_ID, {"mobile": value})
        [line] = prop(card, "TEL")
        assert line.startswith('TEL;VALUE=text;TYPE="cell":')
        assert unescape(line.split(":", 1)[1]) == value.replace("\r\n", "\n")
        assert_well_formed(card)

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet="+0123456789 -.()/x;ext=a\t", max_size=30))
    def test_every_tel_uri_written_is_valid(self, value: str) -> None:
        uri = tel_uri(value)
        assert uri is None or _RFC3966_GLOBAL.fullmatch(uri), uri
        card = render(CONTACT_ID, {"fax": value or "x", "firstName": "A"})
        [line] = prop(card, "TEL")
        assert ("VALUE=uri" in line) == (tel_uri(value or "x") is not None)
        assert_well_formed(card)
