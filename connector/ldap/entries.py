"""A directory entry → the SCIM User the connector stores, plus its content hash.

Values arrive as bytes (ldap3's raw attributes), so every attribute is decoded
here the same way whatever schema the server publishes: UTF-8 text, or
base64 for binary attributes and for values that are not UTF-8. A multi-valued
attribute mapped to a single-valued SCIM path takes the first value the server
returns; a missing attribute leaves the path unset.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from connector.db.models import LdapEntry
from connector.ldap import filters
from connector.ldap.quirks import ad, ds389
from connector.ldap.settings import LdapSourceConfig
from connector.services import column_text
from scim.input_limits import text_problem
from scim.paths import parse_path, set_value

# Attributes whose values are binary whatever they happen to contain.
BINARY = {
    "objectguid",
    "objectsid",
    "jpegphoto",
    "thumbnailphoto",
    "photo",
    "audio",
    "usercertificate",
    "cacertificate",
    "usersmimecertificate",
    "userpkcs12",
    "msexchmailboxguid",
}


class EntryError(ValueError):
    """The entry cannot become a user (no id, no userName, an invalid value)."""


@dataclass(frozen=True)
class Entry:
    """One search result: its DN and raw values by lower-cased attribute name."""

    dn: str
    raw: dict[str, list[bytes]]

    def text(self, name: str) -> list[str]:
        key = name.lower()
        return [decode(key, v) for v in self.raw.get(key, ())]


def decode(name: str, value: bytes) -> str:
    if name.lower().split(";")[0] in BINARY:
        return base64.b64encode(value).decode("ascii")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii")


def storable(entry: Entry, attribute: str, value: str) -> str:
    """``value`` itself, or an EntryError naming the DN and attribute when no database
    can store it (NUL, lone surrogate: scim.input_limits); a value that is not UTF-8
    never gets here (see :func:`decode`)."""
    problem = text_problem(value)
    if problem is not None:
        raise EntryError(f"{entry.dn}: {attribute} {problem}")
    return value


_KEY_LENGTH = column_text.max_length(LdapEntry.entry_id) or 64


def entry_id(cfg: LdapSourceConfig, entry: Entry) -> str:
    """The entry's identity, which survives renames and moves (never the DN)."""
    problem = text_problem(entry.dn)
    if problem is not None:  # the message is stored: it shows the DN escaped
        raise EntryError(f"{entry.dn!a}: the DN {problem}")
    values = entry.raw.get(cfg.id_attribute.lower())
    if not values:
        raise EntryError(f"{entry.dn}: no {cfg.id_attribute}")
    try:
        if cfg.id_attribute == "objectGUID":
            return ad.guid_to_uuid(values[0])
        if cfg.id_attribute == "nsUniqueId":
            return ds389.normalise_unique_id(values[0].decode("ascii"))
        key = storable(entry, cfg.id_attribute, values[0].decode("ascii").strip().lower())
    except EntryError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise EntryError(f"{entry.dn}: bad {cfg.id_attribute}: {exc}") from exc
    if len(key) > _KEY_LENGTH:  # the column that remembers the entry
        raise EntryError(f"{entry.dn}: {cfg.id_attribute} is longer than {_KEY_LENGTH} characters")
    return key


def marker(cfg: LdapSourceConfig, entry: Entry) -> str:
    values = entry.text(cfg.change_attribute)
    return values[0] if values else ""


def is_disabled(cfg: LdapSourceConfig, entry: Entry) -> bool:
    if not cfg.disabled:
        return False
    node, wanted = _disabled_filter(cfg.disabled)
    return filters.matches(node, {a.lower(): entry.text(a) for a in wanted})


@lru_cache(maxsize=64)
def _disabled_filter(text: str) -> tuple[Any, tuple[str, ...]]:
    """Parsed once per filter text, not once per entry."""
    node = filters.parse(text)
    return node, tuple(filters.attributes(node))


def to_user(
    cfg: LdapSourceConfig, entry: Entry, key: str, *, active: bool | None = None
) -> dict[str, Any]:
    """The SCIM User for an entry (``externalId`` = the entry's id), before validation;
    ``active`` as given, else from the source's ``disabled`` filter."""
    found: list[tuple[str, str]] = []
    for attribute, path in cfg.attributes.items():
        values = [v for v in entry.text(attribute) if v.strip()]
        if values:
            found.append((path, storable(entry, attribute, values[0])))
    if active is None:
        active = not is_disabled(cfg, entry)
    try:
        return user_resource(found, key, active)
    except EntryError as exc:
        raise EntryError(f"{entry.dn}: {exc}") from exc


def user_resource(found: list[tuple[str, str]], key: str, active: bool) -> dict[str, Any]:
    """The user made of (SCIM path, value) pairs, in map order (a later path wins)."""
    resource: dict[str, Any] = {}
    for path, value in found:
        resource = _put(resource, path, value)
    if not resource.get("userName"):
        raise EntryError("no value for userName")
    resource["externalId"] = key
    resource["active"] = active
    # Not validated here: the user services validate every write (once is enough,
    # and validation is the largest cost of a large import after ldap3's decoding).
    return resource


def _put(resource: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    """Set a value at a SCIM path; plain paths in place (set_value copies the resource
    each time, which costs more than the rest of the mapping on a large import)."""
    parsed = parse_path(path)
    if parsed.value_filter is not None:
        if parsed.uri is not None:
            return set_value(resource, path, value)
        if parsed.attr not in resource:  # the common case: set_value's result, cached
            resource.update(_fill(_filtered_template(path), value))
            return resource
        # Only the attribute concerned goes through set_value (which copies what it gets).
        part = {parsed.attr: resource[parsed.attr]} if parsed.attr in resource else {}
        resource.update(set_value(part, path, value))
        return resource
    node = resource.setdefault(parsed.uri, {}) if parsed.uri else resource
    if parsed.sub is None:
        node[parsed.attr] = value
    else:
        node.setdefault(parsed.attr, {})[parsed.sub] = value
    return resource


_SLOT = object()


@lru_cache(maxsize=256)
def _filtered_template(path: str) -> Any:
    """What set_value makes of ``{}`` for a value-filter path, with a slot for the value
    (set_value stores the value without looking at it, so only the slot differs)."""
    return set_value({}, path, _SLOT)


def _fill(node: Any, value: str) -> Any:
    """A fresh copy of a template with its slot filled."""
    if node is _SLOT:
        return value
    if isinstance(node, dict):
        return {k: _fill(v, value) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, value) for v in node]
    return node


def map_fingerprint(cfg: LdapSourceConfig) -> str:
    """Changes when the attribute map or 'disabled' changes: stored entries are then stale."""
    text = json.dumps([sorted(cfg.attributes.items()), cfg.disabled, cfg.id_attribute])
    return hashlib.sha256(text.encode()).hexdigest()[:12]
