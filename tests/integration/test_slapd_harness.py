"""Checks that the private slapd behaves like the directories we sync from.

Why: the connector depends on entryUUID (stable ids), entryCSN/contextCSN
(change detection), modifyTimestamp and the accesslog. If the harness loses
any of these, connector tests could pass against a server unlike production.
"""

from __future__ import annotations

import re
import uuid

import ldap3
import pytest
from ldap3.core.exceptions import LDAPBindError

from tests.support.slapd import SlapdServer

pytestmark = pytest.mark.ldap

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# e.g. 20240102030405.123456Z#000000#000#000000
CSN_RE = re.compile(r"^\d{14}\.\d{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$")
GENERALIZED_TIME_RE = re.compile(r"^\d{14}Z$")

NON_ASCII_CN = "Zoë Ångström-Łukasiewicz 東京"


def _add_person(conn: ldap3.Connection, people_dn: str, cn: str) -> str:
    """Add an inetOrgPerson with a unique uid; return its DN."""
    uid = f"user-{uuid.uuid4().hex[:12]}"
    dn = f"uid={uid},{people_dn}"
    attrs = {"uid": uid, "cn": cn, "sn": cn.split()[-1], "mail": f"{uid}@example.org"}
    assert conn.add(dn, ["inetOrgPerson"], attrs), conn.result
    return dn


def _read(conn: ldap3.Connection, dn: str, *attrs: str) -> dict[str, list[str]]:
    """Read one entry's attributes (base-scope search); fail if it is missing."""
    ok = conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=list(attrs))
    assert ok, conn.result
    assert len(conn.response) == 1
    return dict(conn.response[0]["attributes"])


def _single(values: list[str] | str) -> str:
    """ldap3 returns single-valued attributes as str, others as lists."""
    if isinstance(values, list):
        assert len(values) == 1, values
        return str(values[0])
    return str(values)


def test_admin_bind_and_whoami(slapd: SlapdServer) -> None:
    with slapd.admin_session() as conn:
        assert conn.bound
        assert conn.extend.standard.who_am_i() == f"dn:{slapd.admin_dn}"


def test_url_is_usable_by_plain_ldap3(slapd: SlapdServer) -> None:
    """The connector gets only the URL; ldap3 must accept it as-is."""
    server = ldap3.Server(slapd.url, get_info=ldap3.NONE, connect_timeout=5)
    conn = ldap3.Connection(server, user=slapd.admin_dn, password=slapd.admin_password)
    try:
        assert conn.bind(), conn.result
        assert slapd.url.startswith("ldap://127.0.0.1:")
    finally:
        conn.unbind()


def test_people_ou_exists(slapd: SlapdServer, people_dn: str) -> None:
    with slapd.admin_session() as conn:
        attrs = _read(conn, people_dn, "objectClass", "ou")
    assert "organizationalUnit" in attrs["objectClass"]
    assert attrs["ou"] == ["people"]


def test_add_person_with_non_ascii_cn_has_operational_attributes(
    slapd: SlapdServer, people_dn: str
) -> None:
    with slapd.admin_session() as conn:
        dn = _add_person(conn, people_dn, NON_ASCII_CN)
        attrs = _read(conn, dn, "cn", "entryUUID", "entryCSN", "modifyTimestamp")

        assert attrs["cn"] == [NON_ASCII_CN]
        entry_uuid = _single(attrs["entryUUID"])
        assert UUID_RE.match(entry_uuid), entry_uuid
        assert CSN_RE.match(_single(attrs["entryCSN"])), attrs["entryCSN"]
        assert GENERALIZED_TIME_RE.match(_single(attrs["modifyTimestamp"]))

        # Searching by the (indexed) entryUUID finds exactly this entry, and a
        # filter on the non-ASCII cn matches too.
        assert conn.search(people_dn, f"(entryUUID={entry_uuid})", attributes=["cn"])
        assert [e["dn"] for e in conn.response] == [dn]
        assert conn.search(people_dn, f"(cn={NON_ASCII_CN})", attributes=["cn"])
        assert [e["dn"] for e in conn.response] == [dn]


def test_modify_increases_entry_csn_and_context_csn(slapd: SlapdServer, people_dn: str) -> None:
    with slapd.admin_session() as conn:
        dn = _add_person(conn, people_dn, "Ada Lovelace")
        before = _read(conn, dn, "entryCSN", "entryUUID", "modifyTimestamp")

        assert conn.modify(dn, {"title": [(ldap3.MODIFY_REPLACE, ["Countess"])]}), conn.result
        after = _read(conn, dn, "entryCSN", "entryUUID", "title")
        context = _read(conn, slapd.base_dn, "contextCSN")

    old_csn, new_csn = _single(before["entryCSN"]), _single(after["entryCSN"])
    assert CSN_RE.match(new_csn), new_csn
    # CSNs start with a UTC timestamp with microseconds, so they sort as strings.
    assert new_csn > old_csn
    assert after["entryUUID"] == before["entryUUID"]
    assert after["title"] == ["Countess"]
    # syncprov keeps contextCSN on the suffix at the newest change.
    assert _single(context["contextCSN"]) >= new_csn


def test_accesslog_records_writes(slapd: SlapdServer, people_dn: str) -> None:
    with slapd.admin_session() as conn:
        dn = _add_person(conn, people_dn, "Grace Hopper")
        assert conn.modify(dn, {"title": [(ldap3.MODIFY_REPLACE, ["Rear Admiral"])]})
        assert conn.search(
            slapd.accesslog_dn,
            f"(&(objectClass=auditWriteObject)(reqDN={dn}))",
            attributes=["reqType", "reqResult"],
        ), conn.result
        log = [dict(e["attributes"]) for e in conn.response]

    types = sorted(_single(e["reqType"]) for e in log)
    assert types == ["add", "modify"]
    assert all(_single(e["reqResult"]) == "0" for e in log)


def test_wrong_password_bind_fails(slapd: SlapdServer) -> None:
    with pytest.raises(LDAPBindError):
        slapd.connection(slapd.admin_dn, "not-the-password")

    server = ldap3.Server(slapd.url, get_info=ldap3.NONE, connect_timeout=5)
    conn = ldap3.Connection(server, user=slapd.admin_dn, password="not-the-password")
    try:
        assert not conn.bind()
        assert conn.result["description"] == "invalidCredentials"
        assert not conn.bound
    finally:
        conn.unbind()
