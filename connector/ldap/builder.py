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
import re
from dataclasses import dataclass
from typing import Any

from connector.ldap import entries
from connector.ldap.entries import Entry, EntryError
from connector.ldap.settings import LdapSourceConfig
from scim.errors import ScimError
from scim.user_schema import validate_user

MARK = "\x00"
_TOKEN = re.compile(r'"\\u0000(\d+)\\u0000"')  # a placeholder inside json.dumps's text
_encode = json.encoder.encode_basestring_ascii  # how json.dumps writes a str


@dataclass(frozen=True)
class BuiltUser:
    resource: dict[str, Any]
    validated: bool  # True: ``resource`` is what validate_user returns for it
    digest: str  # changes exactly when the mapped content changes
    resource_json: str | None = None  # json.dumps(resource), when made on the way


@dataclass(frozen=True)
class _Template:
    """A validated shape as JSON text cut at its slots: filling it is a join of
    JSON-encoded values (json.dumps's own string encoder), and json.loads of the
    result is the user (cheaper than copying nested dicts)."""

    parts: tuple[str, ...]  # len(slots) + 1 pieces of JSON text
    slots: tuple[int, ...]  # which value goes between parts[i] and parts[i + 1]

    def fill(self, values: list[str]) -> str:
        pieces = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            pieces.append(_encode(values[slot]))
            pieces.append(part)
        return "".join(pieces)


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
                text = template.fill(values)
                return BuiltUser(json.loads(text), True, digest, text)
        return BuiltUser(entries.to_user(self.cfg, entry, key), False, digest)

    def _template(self, shape: tuple[int, ...], active: bool) -> _Template | None:
        """The validated user of this shape with slots for its values; None when
        the shape cannot be validated once for all (or does not validate)."""
        cache_key = (shape, active)
        if cache_key not in self._templates:
            self._templates[cache_key] = self._certify(shape, active)
        return self._templates[cache_key]

    def _certify(self, shape: tuple[int, ...], active: bool) -> _Template | None:
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
        # Each placeholder is a whole string value, once: in the JSON text it is the
        # token json.dumps makes of it, and nothing else there looks like one.
        pieces = _TOKEN.split(json.dumps(validated))
        return _Template(tuple(pieces[0::2]), tuple(int(i) for i in pieces[1::2]))


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


def _digest(content: list[Any]) -> str:
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
