"""Entries → users ready to store, validated once per shape instead of once per entry.

Why: on a directory import, validating every user against the SCIM schema cost
more than reading the directory. Users made from one source's attribute map
differ only in which mapped attributes an entry has (its *shape*), in
``active``, and in their string values. So each shape is validated once, with
placeholders for the values, and later users of that shape are that validated
template with their values filled in.

Why the result is what :func:`scim.user_schema.validate_user` returns for the
same user: validation looks at a string value in four ways only, and each is
ruled out or proved by the placeholder run:

- its type: a placeholder (neither a dateTime nor base64) passes only string and
  reference attributes, which keep any string as it is;
- stripping and the non-empty check of required attributes (``userName``):
  values with surrounding blanks go the slow way, and blank values are never
  mapped;
- case-insensitive comparison with a stored resource: creating has none;
- anything that moves, renames or drops a value is structural, so the same for
  every user of the shape: the template records where each placeholder ended up.

A shape that does not validate, or a value that could not be told apart from a
placeholder, is built by :func:`connector.ldap.entries.to_user` and validated by
the user services as before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from connector.ldap import entries
from connector.ldap.entries import Entry, EntryError
from connector.ldap.settings import LdapSourceConfig
from scim.errors import ScimError
from scim.user_schema import validate_user

MARK = "\x00"


@dataclass(frozen=True)
class BuiltUser:
    resource: dict[str, Any]
    validated: bool  # True: ``resource`` is what validate_user returns for it
    digest: str  # changes exactly when the mapped content changes


@dataclass(frozen=True)
class _Slot:
    index: int


class UserBuilder:
    """Builds the users of one source; remembers each shape's validated template."""

    def __init__(self, cfg: LdapSourceConfig) -> None:
        self.cfg = cfg
        self.fingerprint = entries.map_fingerprint(cfg)
        self._pairs = [(attribute.lower(), path) for attribute, path in cfg.attributes.items()]
        self._templates: dict[tuple[tuple[int, ...], bool], Any] = {}

    def build(self, entry: Entry, key: str) -> BuiltUser:
        found: list[tuple[int, str]] = []
        for index, (attribute, _) in enumerate(self._pairs):
            for raw in entry.raw.get(attribute, ()):
                value = entries.decode(attribute, raw)
                if value.strip():
                    found.append((index, value))
                    break
        active = not entries.is_disabled(self.cfg, entry)
        digest = _digest([self.fingerprint, key, active, found])
        values = [key, *(value for _, value in found)]
        if all(v == v.strip() and MARK not in v for v in values):
            template = self._template(tuple(i for i, _ in found), active)
            if template is not None:
                return BuiltUser(_fill(template, values), True, digest)
        return BuiltUser(entries.to_user(self.cfg, entry, key), False, digest)

    def _template(self, shape: tuple[int, ...], active: bool) -> Any:
        """The validated user of this shape with slots for its values; None when
        the shape cannot be validated once for all (or does not validate)."""
        cache_key = (shape, active)
        if cache_key not in self._templates:
            self._templates[cache_key] = self._certify(shape, active)
        return self._templates[cache_key]

    def _certify(self, shape: tuple[int, ...], active: bool) -> Any:
        placeholders = [f"{MARK}{slot}{MARK}" for slot in range(len(shape) + 1)]
        found = [
            (self._pairs[index][1], placeholders[slot + 1]) for slot, index in enumerate(shape)
        ]
        try:
            resource = entries.user_resource(found, placeholders[0], active)
            validated = validate_user(resource)
        except (EntryError, ScimError):
            return None
        seen: list[int] = []
        template = _slots(validated, {p: slot for slot, p in enumerate(placeholders)}, seen)
        if template is None or len(seen) != len(set(seen)):
            return None
        return template


def _slots(node: Any, slots: dict[str, int], seen: list[int]) -> Any:
    """The validated sample with each placeholder replaced by its slot; None when a
    placeholder was changed rather than kept whole."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if MARK in k:
                return None
            filled = _slots(v, slots, seen)
            if filled is None:
                return None
            out[k] = filled
        return out
    if isinstance(node, list):
        items = [_slots(v, slots, seen) for v in node]
        return None if any(i is None for i in items) else items
    if isinstance(node, str) and MARK in node:
        if node not in slots:
            return None
        seen.append(slots[node])
        return _Slot(slots[node])
    return node


def _fill(node: Any, values: list[str]) -> Any:
    if isinstance(node, _Slot):
        return values[node.index]
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


def _digest(content: list[Any]) -> str:
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
