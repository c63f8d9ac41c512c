"""The connector's search-entry reader against messages encoded by pyasn1 (ldap3's
RFC 4511 types) and decoded by ldap3's own decoder: both must agree on every entry."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from ldap3.protocol.rfc4511 import (
        LDAPDN,
        AttributeDescription,
        AttributeValue,
        LDAPMessage,
        MessageID,
        PartialAttribute,
        PartialAttributeList,
        ProtocolOp,
        ResultCode,
        SearchResultDone,
        SearchResultEntry,
        Vals,
    )
    from ldap3.utils.asn1 import decode_message_fast
    from pyasn1.codec.ber import encoder

from connector.ldap.fast_import import ber, ldap3_receive


def entry_message(dn: str, attributes: list[tuple[str, list[bytes]]], message_id: int = 7) -> bytes:
    entry = SearchResultEntry()
    entry["object"] = LDAPDN(dn)
    partials = PartialAttributeList()
    for index, (name, values) in enumerate(attributes):
        partial = PartialAttribute()
        partial["type"] = AttributeDescription(name)
        vals = Vals()
        for position, value in enumerate(values):
            vals.setComponentByPosition(position, AttributeValue(value))
        partial["vals"] = vals
        partials.setComponentByPosition(index, partial)
    entry["attributes"] = partials
    return _message(message_id, "searchResEntry", entry)


def _message(message_id: int, kind: str, op_value: Any) -> bytes:
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    op = ProtocolOp()
    op[kind] = op_value
    message["protocolOp"] = op
    return encoder.encode(message)


def ldap3_reading(data: bytes) -> tuple[str, dict[str, list[bytes]]]:
    """What ldap3's fast decoder makes of the same bytes, in the connector's terms."""
    payload = decode_message_fast(data)["payload"]
    raw: dict[str, list[bytes]] = {}
    for attribute in payload[1][3]:
        name = bytes(attribute[3][0][3]).decode("utf-8").lower()
        raw.setdefault(name, []).extend(bytes(v[3]) for v in attribute[3][1][3])
    return bytes(payload[0][3]).decode("utf-8"), raw


CASES = {
    "plain": ("uid=a,ou=people,dc=example,dc=org", [("uid", [b"a"]), ("cn", [b"A B"])]),
    "multi-valued": ("uid=m,dc=x", [("mail", [b"m1@x", b"m2@x", b"m3@x"])]),
    "non-ASCII": (
        "uid=jos\u00e9,dc=x",
        [("givenName", ["Jos\u00e9 \u0141\u00f3d\u017a".encode()])],
    ),
    "binary": ("uid=b,dc=x", [("jpegPhoto", [bytes(range(256)) * 3])]),
    "long form, one octet": ("uid=l,dc=x", [("description", [b"x" * 200])]),
    "long form, three octets": ("uid=h,dc=x", [("description", [b"y" * 70_000])]),
    "no attributes": ("uid=n,dc=x", []),
    "attribute without values": ("uid=t,dc=x", [("cn", [])]),
    "options and case": ("uid=o,dc=x", [("CN;lang-de", [b"Name"]), ("entryUUID", [b"u"])]),
    "empty value": ("uid=e,dc=x", [("title", [b""])]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_entries_read_as_ldap3_reads_them(case: tuple[str, list[tuple[str, list[bytes]]]]) -> None:
    data = entry_message(*case)
    assert ber.search_entry(data) == ldap3_reading(data)


def test_attribute_names_are_lower_cased_values_kept_in_server_order() -> None:
    data = entry_message("uid=a,dc=x", [("Mail", [b"z@x", b"a@x"])])
    assert ber.search_entry(data) == ("uid=a,dc=x", {"mail": [b"z@x", b"a@x"]})


def test_other_messages_and_ranged_attributes_are_left_to_ldap3() -> None:
    done = SearchResultDone()
    done["resultCode"] = ResultCode("success")
    done["matchedDN"] = LDAPDN("")
    done["diagnosticMessage"] = LDAPDN("")
    assert ber.search_entry(_message(3, "searchResDone", done)) is None
    ranged = entry_message("cn=g,dc=x", [("member;range=0-1499", [b"uid=a,dc=x"])])
    assert ber.search_entry(ranged) is None


@pytest.mark.parametrize("cut", [1, 5, 12, -1])
def test_a_truncated_or_malformed_message_is_an_error(cut: int) -> None:
    data = entry_message("uid=a,dc=x", [("cn", [b"value"]), ("sn", [b"other"])])
    with pytest.raises(ber.MalformedMessage):
        ber.search_entry(data[:cut])


def test_a_wrong_tag_inside_an_attribute_is_an_error() -> None:
    data = bytearray(entry_message("uid=a,dc=x", [("cn", [b"value"])]))
    data[data.index(b"value") - 2] = 0x02  # the value's OCTET STRING tag becomes INTEGER
    with pytest.raises(ber.MalformedMessage, match="expected tag 0x04"):
        ber.search_entry(bytes(data))


def test_divert_takes_entries_and_reads_on_until_ldap3_has_something() -> None:
    entry_a = entry_message("uid=a,dc=x", [("uid", [b"a"])])
    entry_b = entry_message("uid=b,dc=x", [("uid", [b"b"])])
    done = b"\x30\x0c\x02\x01\x07\x65\x07\x0a\x01\x00\x04\x00\x04\x00"  # searchResDone
    batches = [[entry_a], [entry_b, done]]

    class Strategy:
        def receiving(self) -> list[bytes]:
            return batches.pop(0)

    class Connection:
        strategy = Strategy()

    conn: Any = Connection()
    ldap3_receive.divert_search_entries(conn)
    assert conn.strategy.receiving() == [done]  # the first batch held only an entry: again
    assert [dn for dn, _ in conn.diverted] == ["uid=a,dc=x", "uid=b,dc=x"]


def test_the_ldap3_method_the_patch_wraps_is_still_there() -> None:
    """ldap3_receive wraps SyncStrategy.receiving, which is not ldap3's public API: a
    release that renames it or changes its signature must fail here, not in a run."""
    import ldap3
    from ldap3.strategy.sync import SyncStrategy

    assert ldap3_receive.patchable(SyncStrategy)
    connection = ldap3.Connection(
        ldap3.Server("ldap://127.0.0.1:1"), auto_bind=ldap3.AUTO_BIND_NONE
    )
    assert isinstance(connection.strategy, SyncStrategy)  # the strategy the client gets
    if ldap3.__version__ not in ldap3_receive.CHECKED_VERSIONS:
        pytest.fail(
            f"ldap3 {ldap3.__version__}: check SyncStrategy.receiving and _get_response "
            "against connector/ldap/fast_import/ldap3_receive.py, then add the version "
            "to CHECKED_VERSIONS"
        )
