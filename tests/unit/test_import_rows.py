"""What a first import's reader process works out ahead must be what the ordinary
path would make: contact fields per shape, and JSON text made around JSON text."""

from __future__ import annotations

import json
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector import mapping
from connector.catalogue import builtin_folder
from connector.ldap.entries import Entry, EntryError
from connector.ldap.fast_import.prepared import PreparedNewUser
from connector.ldap.fast_import.user_templates import UserBuilder
from connector.ldap.mapped_pages import map_page
from connector.ldap.settings import LdapSourceConfig
from connector.mapping import CurrentMapping, MappingRow
from connector.services import linking, users
from connector.services.sync_settings import SyncSettings

DEFAULT_ROWS = tuple(
    MappingRow(user_field, contact_field)
    for user_field, contact_field in tomllib.loads(
        (builtin_folder() / "default_mapping.toml").read_text()
    )["rows"]
)


def config(attributes: dict[str, str] | None = None, *, fast: bool = True) -> LdapSourceConfig:
    extra = {"attributes": attributes} if attributes else {}
    return LdapSourceConfig.model_validate(
        {
            "name": "corp",
            "preset": "openldap",
            "urls": ["ldap://127.0.0.1:1"],
            "base_dn": "dc=example,dc=org",
            "fast_import": fast,
            **extra,
        }
    )


# The directory sets an e-mail's *type*: the mapping's emails[type eq "work"] tests it,
# so users of that shape may not share one plan.
TYPED = config(
    {
        "uid": "userName",
        "mail": 'emails[type eq "work"].value',
        "description": 'emails[value eq "shared@example.org"].type',
        "title": "title",
    }
)

values = st.lists(
    st.sampled_from(["work", "Work", "home", "x@y.org", "Ada", " pad ", "", "Jürgen"]).map(
        str.encode
    ),
    max_size=2,
)


@pytest.mark.parametrize("cfg", [config(), TYPED], ids=["openldap", "typed"])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_contact_fields_per_shape_are_what_the_mapping_makes(
    cfg: LdapSourceConfig, data: st.DataObject
) -> None:
    names = [a.lower() for a in cfg.attributes]
    raw = data.draw(st.dictionaries(st.sampled_from(names), values))
    builder = UserBuilder(cfg)
    try:
        user = builder.build(Entry("uid=x", raw), "key")
    except EntryError:
        return
    fields = builder.contact_fields(user, DEFAULT_ROWS)
    if fields is not None:
        assert user.validated
        assert json.dumps(fields) == json.dumps(mapping.apply(user.resource, DEFAULT_ROWS))


def test_a_shape_whose_values_a_filter_tests_has_no_plan() -> None:
    builder = UserBuilder(TYPED)
    raw = {"uid": [b"a"], "description": [b"work"]}
    user = builder.build(Entry("uid=a", raw), "k")
    assert user.validated
    assert builder.contact_fields(user, DEFAULT_ROWS) is None
    plain = builder.build(Entry("uid=b", {"uid": [b"b"], "mail": [b"b@x.org"]}), "k")
    assert builder.contact_fields(plain, DEFAULT_ROWS) == {"username": "b", "email": "b@x.org"}


def _created(cfg: LdapSourceConfig, raw: dict[str, list[bytes]]) -> users.CreatedUser:
    page = map_page(
        UserBuilder(cfg), [Entry("uid=a", raw)], contacts=CurrentMapping(3, DEFAULT_ROWS)
    )
    mapped = page.users[0]
    # The switch: only the fast path vouches for users and prepares them.
    fast = cfg.fast_import
    assert (mapped.validated, mapped.prepared is not None) == (fast, fast)
    return users.CreatedUser.of(1, True, mapped.resource, mapped.prepared)


RAW = {
    "entryuuid": [b"0d3e8a58-1f0a-4c7b-9e21-5b4f2c1a9e77"],
    "uid": [b"j\xc3\xbcrgen"],
    "givenname": [b'Quote " me'],
    "mail": [b"j@x.org"],
}


def test_the_audit_event_of_a_new_user_is_what_json_dumps_writes() -> None:
    user = _created(config(), RAW)
    event = users.creation_rows([user], "corp", "ldap:corp").events[0]
    assert event["after"] == json.dumps(users._represent(user, "corp", None))


@pytest.mark.parametrize("on_deactivate", ["mark_inactive", "keep"])
def test_prepared_contacts_are_what_the_mapping_makes(on_deactivate: str) -> None:
    user = _created(config(), {**RAW, "pwdaccountlockedtime": [b"20260101000000Z"]})
    state = linking.SyncState(
        CurrentMapping(3, DEFAULT_ROWS), SyncSettings(onDeactivate=on_deactivate)
    )
    fast = linking.contact_rows([user], state, "ldap:corp")
    plain_user = _created(config(fast=False), {**RAW, "pwdaccountlockedtime": [b"2026Z"]})
    slow = linking.contact_rows([plain_user], state, "ldap:corp")
    assert json.loads(fast.contacts[0]["fields"]) == slow.contacts[0]["fields"]
    assert fast.contacts[0]["search_text"] == slow.contacts[0]["search_text"]
    assert fast.events[0]["after"] == json.dumps(slow.events[0]["after"])


def test_a_stale_mapping_version_is_not_used() -> None:
    user = _created(config(), RAW)
    assert isinstance(user.prepared, PreparedNewUser)
    state = linking.SyncState(CurrentMapping(4, DEFAULT_ROWS[:2]), SyncSettings())
    rows = linking.contact_rows([user], state, "ldap:corp")
    assert rows.contacts[0]["fields"] == {"username": "jürgen", "firstName": 'Quote " me'}
    assert rows.links[0]["mapping_version"] == 4
