"""The per-shape validation of LDAP users: what it builds must be exactly what
validating each user would give (same values, same key order), and anything it
cannot vouch for must go the slow way."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.ldap import entries
from connector.ldap.entries import Entry, EntryError
from connector.ldap.fast_import import user_templates as builder_module
from connector.ldap.fast_import.user_templates import UserBuilder
from connector.ldap.settings import LdapSourceConfig
from scim.errors import ScimError
from scim.user_schema import validate_user

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def config(preset: str = "openldap", **overrides: Any) -> LdapSourceConfig:
    return LdapSourceConfig.model_validate(
        {
            "name": "corp",
            "preset": preset,
            "urls": ["ldap://127.0.0.1:1"],
            "base_dn": "dc=example,dc=org",
            **overrides,
        }
    )


CONFIGS = {
    "openldap": config(),
    "active_directory": config("active_directory"),
    "389ds": config("389ds"),
    # Two attributes for one path (the later wins), a binary attribute into a string,
    # a binary and a boolean target (never vouched for), a complex sub-attribute.
    "awkward": config(
        attributes={
            "uid": "userName",
            "cn": "displayName",
            "displayName": "displayName",
            "jpegPhoto": f"{ENTERPRISE}:employeeNumber",
            "mail": 'emails[type eq "work"].value',
            "l": 'addresses[type eq "work"].locality',
            "street": 'addresses[type eq "work"].streetAddress',
            "description": 'x509Certificates[type eq "work"].value',
            "seeAlso": 'emails[type eq "work"].primary',
            "title": "nickName",
            "o": "name.formatted",
        }
    ),
}

text = st.one_of(
    st.sampled_from(["Ada", "  padded ", "", " ", "Jürgen", "a\x00b", "x" * 300, "\t"]),
    st.text(max_size=12),
)
values = st.lists(text.map(lambda t: t.encode("utf-8")), max_size=3)


def entry_strategy(cfg: LdapSourceConfig) -> st.SearchStrategy[Entry]:
    names = [a.lower() for a in cfg.attributes] + ["pwdaccountlockedtime", "nsaccountlock"]
    return st.dictionaries(st.sampled_from(names), values).map(lambda raw: Entry("uid=x", raw))


def slow_way(cfg: LdapSourceConfig, entry: Entry, key: str) -> dict[str, Any] | str:
    """What the user services store for this entry without the builder (or the error)."""
    try:
        return validate_user(entries.to_user(cfg, entry, key))
    except (EntryError, ScimError) as exc:
        return type(exc).__name__


@pytest.mark.parametrize("name", list(CONFIGS))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_built_users_are_what_validation_returns(name: str, data: st.DataObject) -> None:
    cfg = CONFIGS[name]
    entry = data.draw(entry_strategy(cfg))
    key = data.draw(st.sampled_from(["0d3e8a58-1f0a-4c7b-9e21-5b4f2c1a9e77", " spaced ", "k"]))
    expected = slow_way(cfg, entry, key)
    try:
        built = UserBuilder(cfg).build(entry, key)
    except EntryError:
        assert expected == "EntryError"
        return
    if built.validated:
        assert json.dumps(built.resource) == json.dumps(expected)  # same keys, same order
    else:
        assert built.resource == entries.to_user(cfg, entry, key)


def test_a_shape_is_validated_once_then_filled() -> None:
    cfg = CONFIGS["openldap"]
    builder = UserBuilder(cfg)
    calls: list[Any] = []
    original = builder_module.validate_user

    def counting(resource: Any) -> Any:
        calls.append(resource)
        return original(resource)

    builder_module.validate_user = counting  # type: ignore[assignment]
    try:
        for i in range(5):
            raw = {"uid": [f"u{i}".encode()], "mail": [f"u{i}@x.org".encode()]}
            user = builder.build(Entry(f"uid=u{i}", raw), f"k{i}")
            assert user.validated and user.resource["emails"][0]["value"] == f"u{i}@x.org"
    finally:
        builder_module.validate_user = original  # type: ignore[assignment]
    assert len(calls) == 1


def test_values_a_template_cannot_vouch_for_go_the_slow_way() -> None:
    builder = UserBuilder(CONFIGS["awkward"])
    padded = builder.build(Entry("uid=p", {"uid": [b" padded "]}), "k")
    assert not padded.validated and padded.resource["userName"] == " padded "
    binary = builder.build(Entry("uid=d", {"uid": [b"d"], "description": [b"QUJD"]}), "k")
    assert not binary.validated  # a binary target: validation decides per value
    plain = builder.build(Entry("uid=a", {"uid": [b"a"], "title": [b"Boss"]}), "k")
    assert plain.validated and plain.resource["nickName"] == "Boss"


def test_digest_follows_mapped_content_only() -> None:
    cfg = CONFIGS["openldap"]
    builder = UserBuilder(cfg)

    def digest(raw: dict[str, list[bytes]], key: str = "k") -> str:
        return builder.build(Entry("uid=a,dc=x", raw), key).digest

    base = {"uid": [b"a"], "givenname": [b"A"]}
    assert digest(base) == digest({**base, "audio": [b"unmapped"]})
    assert digest(base) != digest({**base, "givenname": [b"\xc3\x84"]})
    assert digest(base) != digest(base, key="other")
    assert digest(base) != digest({**base, "pwdaccountlockedtime": [b"20260101000000Z"]})
    assert (
        digest(base)
        != UserBuilder(config(attributes={"uid": "userName"}))
        .build(Entry("uid=a,dc=x", base), "k")
        .digest
    )  # another map: another digest


@settings(max_examples=300, deadline=None)
@given(value=st.text())
def test_the_template_string_encoder_is_json_dumps(value: str) -> None:
    """Templates are filled with json.encoder.encode_basestring_ascii (undocumented,
    cheaper per call): it must write exactly what json.dumps writes for a str."""
    assert builder_module._encode(value) == json.dumps(value)


@pytest.mark.parametrize("name", list(CONFIGS))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_both_paths_of_the_switch_make_the_same_users(name: str, data: st.DataObject) -> None:
    """Off, the switch (a source's fast_import) only stops vouching: the users and
    their digests (stored, compared by later runs) are the same, and the user
    services validate each one, which gives the fast path's users (see above)."""
    from connector.ldap.mapped_pages import map_page

    fast_cfg = CONFIGS[name]
    plain_cfg = fast_cfg.model_copy(update={"fast_import": False})
    entry = data.draw(entry_strategy(fast_cfg))
    entry = Entry("uid=x", {**entry.raw, "entryuuid": [b"k"], "objectguid": [bytes(16)]})
    entry = Entry("uid=x", {**entry.raw, "nsuniqueid": [b"a1b2c3d4-e5f60718-293a4b5c-6d7e8f90"]})
    fast = map_page(UserBuilder(fast_cfg), [entry])
    plain = map_page(UserBuilder(plain_cfg), [entry])
    assert fast.counts == plain.counts and fast.unmappable == plain.unmappable
    assert [(u.key, u.resource, u.digest) for u in fast.users] == [
        (u.key, u.resource, u.digest) for u in plain.users
    ]
    assert not any(u.validated for u in plain.users)
