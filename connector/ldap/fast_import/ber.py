"""Search result entries straight from their BER bytes, bypassing ldap3's decoder.

Why: ldap3 decodes every message into nested tuples with a recursive, generic
BER decoder, then formats every value; on a 100,000-entry directory that is
most of the time a read takes. A search result entry has one fixed shape
(RFC 4511, 4.5.2), so it is read here with a flat loop into what the connector
uses (DN and raw values by lower-cased attribute name). Every other message
(the search's result, referrals, intermediate responses) and any entry with a
ranged attribute (AD's ``member;range=0-1499``) stays with ldap3. How the bytes
get here: :mod:`connector.ldap.fast_import.ldap3_receive`.

    LDAPMessage ::= SEQUENCE { messageID INTEGER,
                               searchResEntry [APPLICATION 4] SEQUENCE {
                                   objectName OCTET STRING,
                                   attributes SEQUENCE OF SEQUENCE {
                                       type OCTET STRING, vals SET OF OCTET STRING } },
                               controls [0] OPTIONAL }
"""

from __future__ import annotations

SEQUENCE, SET, OCTET_STRING, INTEGER = 0x30, 0x31, 0x04, 0x02
SEARCH_RESULT_ENTRY = 0x64  # [APPLICATION 4], constructed


class MalformedMessage(ValueError):
    """The bytes are not a well-formed search result entry."""


def _header(data: bytes, at: int, tag: int) -> tuple[int, int]:
    """Check the tag at ``at``; return (where the value starts, where it ends)."""
    if data[at] != tag:
        raise MalformedMessage(f"expected tag 0x{tag:02x} at {at}, found 0x{data[at]:02x}")
    first = data[at + 1]
    if first < 0x80:
        start, length = at + 2, first
    else:
        count = first & 0x7F
        if not 0 < count <= 4:
            raise MalformedMessage(f"unsupported length of {count} octets at {at}")
        start = at + 2 + count
        length = int.from_bytes(data[at + 2 : start], "big")
    end = start + length
    if end > len(data):
        raise MalformedMessage(f"a value at {at} runs past the end of the message")
    return start, end


def search_entry(message: bytes) -> tuple[str, dict[str, list[bytes]]] | None:
    """(DN, raw values by lower-cased name) of a search result entry; None for any
    other message and for entries ldap3 must decode itself (ranged attributes)."""
    try:
        body, end = _header(message, 0, SEQUENCE)
        at = _header(message, body, INTEGER)[1]
        if message[at] != SEARCH_RESULT_ENTRY:
            return None
        at, _ = _header(message, at, SEARCH_RESULT_ENTRY)
        dn_start, at = _header(message, at, OCTET_STRING)
        dn = message[dn_start:at].decode("utf-8", "replace")
        at, attributes_end = _header(message, at, SEQUENCE)
        raw: dict[str, list[bytes]] = {}
        # The loop below is _header inlined for the short and one-, two-octet length
        # forms (all a directory sends but huge values); it runs for every value.
        while at < attributes_end:
            attribute_start, attribute_end = _header(message, at, SEQUENCE)
            name_start, at = _header(message, attribute_start, OCTET_STRING)
            name = message[name_start:at].decode("utf-8", "replace").lower()
            if ";range=" in name:
                return None
            at, values_end = _header(message, at, SET)
            values = raw.setdefault(name, [])
            while at < values_end:
                if message[at] != OCTET_STRING:
                    raise MalformedMessage(
                        f"expected tag 0x{OCTET_STRING:02x} at {at}, found 0x{message[at]:02x}"
                    )
                first = message[at + 1]
                if first < 0x80:
                    start = at + 2
                    at = start + first
                elif first == 0x81:
                    start = at + 3
                    at = start + message[at + 2]
                elif first == 0x82:
                    start = at + 4
                    at = start + (message[at + 2] << 8 | message[at + 3])
                else:
                    start, at = _header(message, at, OCTET_STRING)
                if at > values_end:
                    raise MalformedMessage(f"a value at {start} runs past its attribute")
                values.append(message[start:at])
            if at != attribute_end:
                raise MalformedMessage(f"attribute {name!r} does not end where its length says")
        if attributes_end > end:
            raise MalformedMessage("the attribute list runs past the message")
    except IndexError as exc:
        raise MalformedMessage("the message ends early") from exc
    return dn, raw
