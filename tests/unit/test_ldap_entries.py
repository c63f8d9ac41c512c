"""Entry → SCIM User, filters, markers, and Active Directory / 389-DS quirks on recorded entries."""

from __future__ import annotations

import base64
import uuid

import pytest

from connector.ldap import entries, filters, markers
from connector.ldap.entries import Entry, EntryError
from connector.ldap.fast_import.user_templates import UserBuilder
from connector.ldap.quirks import ad, ds389
from connector.ldap.settings import LdapSourceConfig

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GUID = uuid.UUID("0d3e8a58-1f0a-4c7b-9e21-5b4f2c1a9e77")

# An Active Directory user as ldap3 hands it over (raw bytes), recorded from a test domain.
AD_USER = {
    "objectguid": [GUID.bytes_le],
    "objectsid": [bytes.fromhex("010500000000000515000000a1b2c3d4e5f60718293a4b5c51040000")],
    "samaccountname": [b"jdoe"],
    "givenname": [b"Jos\xc3\xa9"],
    "sn": [b"Doe"],
    "displayname": [b"Jos\xc3\xa9 Doe"],
    "mail": [b"jdoe@corp.example"],
    "department": [b"Sales"],
    "useraccountcontrol": [b"512"],
    "usnchanged": [b"104882"],
}


def ad_config(**overrides: object) -> LdapSourceConfig:
    return LdapSourceConfig.model_validate(
        {
            "name": "ad",
            "preset": "active_directory",
            "urls": ["ldaps://dc1.corp.example"],
            "base_dn": "dc=corp,dc=example",
            **overrides,
        }
    )


def test_objectguid_is_little_endian() -> None:
    raw = GUID.bytes_le
    assert raw != GUID.bytes  # the first three fields are swapped
    assert ad.guid_to_uuid(raw) == str(GUID)
    assert raw[:4] == bytes.fromhex("588a3e0d")
    with pytest.raises(ValueError):
        ad.guid_to_uuid(b"short")
    escaped = ad.guid_filter_value(str(GUID))
    assert escaped.startswith("\\58\\8a\\3e\\0d") and len(escaped) == 48


def test_ad_user_becomes_a_scim_user() -> None:
    cfg = ad_config()
    entry = Entry("CN=John Doe,OU=Staff,DC=corp,DC=example", AD_USER)
    key = entries.entry_id(cfg, entry)
    assert key == str(GUID)
    user = entries.to_user(cfg, entry, key)
    assert user["userName"] == "jdoe" and user["externalId"] == str(GUID)
    assert user["name"] == {"givenName": "José", "familyName": "Doe"}
    assert user[ENTERPRISE]["department"] == "Sales"
    assert user["active"] is True
    assert entries.marker(cfg, entry) == "104882"


@pytest.mark.parametrize(("uac", "disabled"), [(b"512", False), (b"514", True), (b"66050", True)])
def test_user_account_control_bit_2(uac: bytes, disabled: bool) -> None:
    cfg = ad_config()
    entry = Entry("CN=x", {**AD_USER, "useraccountcontrol": [uac]})
    assert entries.is_disabled(cfg, entry) is disabled
    assert entries.to_user(cfg, entry, str(GUID))["active"] is (not disabled)


def test_usn_watermark_belongs_to_one_dc() -> None:
    root = {"dsservicename": ["CN=NTDS Settings,CN=DC1,CN=Servers,DC=corp,DC=example"]}
    server = ad.server_identity(root, "ldaps://dc1")
    assert server.startswith("CN=NTDS Settings,CN=DC1")
    assert ad.server_identity({}, "ldaps://dc1") == "ldaps://dc1"
    assert ad.usn_watermark_valid(server, server)
    assert not ad.usn_watermark_valid(server, "CN=NTDS Settings,CN=DC2")
    assert not ad.usn_watermark_valid(None, server)
    assert markers.since("uSNChanged", "104882", 60) == "104882"  # a counter: no overlap
    assert markers.newest("uSNChanged", "99", "104882") == "104882"  # numeric, not text


def test_binary_attributes_are_base64_and_bad_utf8_too() -> None:
    entry = Entry("cn=x", {"objectsid": [b"\x01\x05"], "description": [b"\xff\xfe"]})
    assert entry.text("objectSid") == [base64.b64encode(b"\x01\x05").decode()]
    assert entry.text("description") == ["//4="]


def test_389ds_unique_id_and_lock() -> None:
    assert ds389.normalise_unique_id("A1B2C3D4-E5F60718-293A4B5C-6D7E8F90") == (
        "a1b2c3d4-e5f60718-293a4b5c-6d7e8f90"
    )
    with pytest.raises(ValueError):
        ds389.normalise_unique_id(str(GUID))
    cfg = LdapSourceConfig.model_validate(
        {"name": "ds", "preset": "389ds", "urls": ["ldap://ds"], "base_dn": "dc=x"}
    )
    # nsAccountLock: TRUE in any case locks the account (the preset's filter); else not.
    for lock, locked in (([b"True"], True), ([b"false"], False), ([], False)):
        raw = {"nsaccountlock": lock} if lock else {}
        assert entries.is_disabled(cfg, Entry("uid=a,dc=x", raw)) is locked
    entry = Entry(
        "uid=a,dc=x",
        {
            "nsuniqueid": [b"a1b2c3d4-e5f60718-293a4b5c-6d7e8f90"],
            "uid": [b"a"],
            "nsaccountlock": [b"TRUE"],
        },
    )
    assert entries.entry_id(cfg, entry) == "a1b2c3d4-e5f60718-293a4b5c-6d7e8f90"
    assert entries.to_user(cfg, entry, "k")["active"] is False


def test_entries_without_id_or_username_are_errors() -> None:
    cfg = ad_config()
    with pytest.raises(EntryError, match="no objectGUID"):
        entries.entry_id(cfg, Entry("CN=x", {"samaccountname": [b"x"]}))
    with pytest.raises(EntryError, match="no value for userName"):
        entries.to_user(cfg, Entry("CN=x", {"objectguid": [GUID.bytes_le]}), str(GUID))


class TestFilters:
    def test_escape_every_special_character(self) -> None:
        assert filters.escape("a*b(c)\\d\0") == "a\\2ab\\28c\\29\\5cd\\00"
        assert filters.escape(b"\x00\xff") == "\\00\\ff"
        assert filters.escape("Jürgen") == "Jürgen"

    def test_parse_and_match(self) -> None:
        node = filters.parse("(&(objectClass=person)(|(mail=*@x.org)(!(cn=a*z))))")
        assert filters.attributes(node) == {"objectClass", "mail", "cn"}
        assert filters.matches(node, {"objectclass": ["Person"], "mail": ["q@X.org"]})
        assert filters.matches(node, {"objectclass": ["person"], "cn": ["abc"]})
        assert not filters.matches(node, {"objectclass": ["person"], "cn": ["abz"]})
        assert not filters.matches(node, {"objectclass": ["group"], "mail": ["q@x.org"]})

    def test_comparisons_and_escaped_values(self) -> None:
        assert filters.matches(filters.parse("(uSNChanged>=100)"), {"usnchanged": ["99", "100"]})
        assert not filters.matches(filters.parse("(uSNChanged>=100)"), {"usnchanged": ["99"]})
        assert filters.matches(filters.parse(r"(cn=a\2ab)"), {"cn": ["a*b"]})
        assert filters.matches(filters.parse("(x:1.2.840.113556.1.4.804:=6)"), {"x": ["4"]})

    @pytest.mark.parametrize(
        "text", ["cn=a", "(cn=a", "(&)", "(!(a=b)(c=d))", "(cn:1.2.3:=x)", "(c n=a)", "(cn=a))"]
    )
    def test_bad_filters(self, text: str) -> None:
        with pytest.raises(filters.FilterError):
            filters.parse(text)


def test_timestamp_and_csn_markers_with_overlap() -> None:
    assert markers.since("modifyTimestamp", "20261125161000Z", 60) == "20261125160900Z"
    csn = "20261125161000.123456Z#000000#000#000000"
    assert markers.since("entryCSN", csn, 30) == "20261125160930.000000Z#000000#000#000000"
    assert markers.newest("entryCSN", csn, None) == csn


@pytest.mark.parametrize(
    ("attribute", "value", "reason"),
    [("displayname", b"Jos\x00 Doe", "displayName contains NUL"), ("samaccountname", b"j\x00", "")],
)
def test_a_value_no_database_can_store_is_an_entry_error_with_its_dn(
    attribute: str, value: bytes, reason: str
) -> None:
    cfg = ad_config()
    dn = "CN=John Doe,OU=Staff,DC=corp,DC=example"
    entry = Entry(dn, {**AD_USER, attribute: [value]})
    key = entries.entry_id(cfg, entry)
    with pytest.raises(EntryError, match="contains NUL") as refused:
        entries.to_user(cfg, entry, key)
    assert str(refused.value).startswith(dn) and reason in str(refused.value)
    with pytest.raises(EntryError, match="contains NUL"):
        UserBuilder(cfg).build(entry, key)


def test_an_id_or_dn_no_database_can_store_is_an_entry_error() -> None:
    cfg = LdapSourceConfig.model_validate(
        {"name": "o", "urls": ["ldap://x"], "base_dn": "dc=x", "id_attribute": "entryUUID"}
    )
    bad_id = Entry("uid=a,dc=x", {"entryuuid": [b"abc\x00"], "uid": [b"a"]})
    with pytest.raises(EntryError, match=r"uid=a,dc=x: entryUUID contains NUL"):
        entries.entry_id(cfg, bad_id)
    too_long = Entry("uid=a,dc=x", {"entryuuid": [b"a" * 65], "uid": [b"a"]})
    with pytest.raises(EntryError, match="entryUUID is longer than 64"):
        entries.entry_id(cfg, too_long)
    assert entries.entry_id(cfg, Entry("uid=a,dc=x", {"entryuuid": [b"A" * 64]})) == "a" * 64
    bad_dn = Entry("uid=a\ud800,dc=x", {"entryuuid": [b"abc"], "uid": [b"a"]})
    with pytest.raises(EntryError, match="the DN contains a lone surrogate") as refused:
        entries.entry_id(cfg, bad_dn)
    assert "\ud800" not in str(refused.value)  # the message is stored: shown escaped
