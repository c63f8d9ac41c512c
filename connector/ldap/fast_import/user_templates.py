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

from connector import mapping
from connector.ldap import entries
from connector.ldap.entries import Entry, EntryError
from connector.ldap.settings import LdapSourceConfig
from connector.mapping import MappingRow
from scim.errors import ScimError
from scim.filter import And, Compare, Not, Or, Present
from scim.paths import parse_path
from scim.user_schema import validate_user

MARK = "\x00"
_TOKEN = re.compile(r'"\\u0000(\d+)\\u0000"')  # a placeholder inside json.dumps's text
# How json.dumps writes a str: with its default ensure_ascii=True, json.dumps(value)
# returns json.encoder.encode_basestring_ascii(value) for a str (the C version when
# the _json accelerator is there, as in CPython). The function is not in json's
# documentation, so tests/unit/test_ldap_builder.py checks that it gives exactly
# json.dumps's text; called directly it costs a quarter of json.dumps (whose
# checks and encoder set-up come first), and it runs for every value of a large
# import (measured: 56 ns against 229 ns per value).
_encode = json.encoder.encode_basestring_ascii


@dataclass(frozen=True)
class BuiltUser:
    resource: dict[str, Any]
    validated: bool  # True: ``resource`` is what validate_user returns for it
    digest: str  # changes exactly when the mapped content changes
    resource_json: str | None = None  # json.dumps(resource), when made on the way
    template: _Template | None = None  # the shape's template and the slot values,
    values: tuple[str, ...] = ()  # when validated


@dataclass(frozen=True)
class _Template:
    """A validated shape as JSON text cut at its slots: filling it is a join of
    JSON-encoded values (json.dumps's own string encoder), and json.loads of the
    result is the user (cheaper than copying nested dicts)."""

    parts: tuple[str, ...]  # len(slots) + 1 pieces of JSON text
    slots: tuple[int, ...]  # which value goes between parts[i] and parts[i + 1]
    # Where each slot sits in the user: keys from the top, "*" for a list's items.
    paths: tuple[tuple[int, tuple[str, ...]], ...]
    sample: str  # the template filled with the placeholders (JSON text)

    def fill(self, values: list[str]) -> str:
        pieces = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            pieces.append(_encode(values[slot]))
            pieces.append(part)
        return "".join(pieces)


class UserBuilder:
    """Builds the users of one source; remembers each shape's validated template."""

    def __init__(self, cfg: LdapSourceConfig) -> None:
        self.cfg = cfg
        self.fingerprint = entries.map_fingerprint(cfg)
        self._pairs = [(attribute.lower(), path) for attribute, path in cfg.attributes.items()]
        self._names = list(cfg.attributes)  # as configured, for error messages
        self._templates: dict[tuple[tuple[int, ...], bool], Any] = {}
        self._contact_rows: tuple[MappingRow, ...] | None = None
        self._contact_plans: dict[int, Any] = {}

    def build(self, entry: Entry, key: str) -> BuiltUser:
        found: list[tuple[int, str]] = []
        for index, (attribute, _) in enumerate(self._pairs):
            for raw in entry.raw.get(attribute, ()):
                value = entries.decode(attribute, raw)
                if value.strip():
                    found.append((index, entries.storable(entry, self._names[index], value)))
                    break
        active = not entries.is_disabled(self.cfg, entry)
        values = [key, *(value for _, value in found)]
        if all(v == v.strip() and MARK not in v for v in values):
            template = self._template(tuple(i for i, _ in found), active)
            if template is not None:
                # The validated user's JSON text is itself a function of the mapped
                # content (shape, values, key, active): the digest is taken of it.
                text = template.fill(values)
                digest = _text_digest(f"{self.fingerprint}\n{text}")
                return BuiltUser(json.loads(text), True, digest, text, template, tuple(values))
        digest = _digest([self.fingerprint, key, active, found])
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
        paths: list[tuple[int, tuple[str, ...]]] = []
        if not _slots(validated, {p: slot for slot, p in enumerate(placeholders)}, (), paths):
            return None
        if len(paths) != len({slot for slot, _ in paths}):
            return None
        # Each placeholder is a whole string value, once: in the JSON text it is the
        # token json.dumps makes of it, and nothing else there looks like one.
        sample = json.dumps(validated)
        pieces = _TOKEN.split(sample)
        return _Template(
            tuple(pieces[0::2]), tuple(int(i) for i in pieces[1::2]), tuple(paths), sample
        )

    def contact_fields(
        self, user: BuiltUser, rows: tuple[MappingRow, ...]
    ) -> dict[str, str] | None:
        """The contact fields the mapping ``rows`` make of a validated user, from its
        shape's plan; None when the shape has no plan (then: mapping.apply)."""
        if user.template is None:
            return None
        if rows is not self._contact_rows:  # plans hold for one mapping
            self._contact_rows, self._contact_plans = rows, {}
        key = id(user.template)  # templates live as long as the builder
        if key not in self._contact_plans:
            self._contact_plans[key] = _contact_plan(user.template, rows)
        plan = self._contact_plans[key]
        if plan is None:
            return None
        values = user.values
        return {field: values[slot] if slot >= 0 else text for field, slot, text in plan}


def _slots(
    node: Any,
    slots: dict[str, int],
    path: tuple[str, ...],
    found: list[tuple[int, tuple[str, ...]]],
) -> bool:
    """Record where each placeholder sits in the validated sample; False when one
    was changed rather than kept whole (or ended up in a key)."""
    if isinstance(node, dict):
        return all(
            MARK not in k and _slots(v, slots, (*path, k.lower()), found) for k, v in node.items()
        )
    if isinstance(node, list):
        return all(_slots(v, slots, (*path, "*"), found) for v in node)
    if isinstance(node, str) and MARK in node:
        if node not in slots:
            return False
        found.append((slots[node], path))
    return True


def _contact_plan(
    template: _Template, rows: tuple[MappingRow, ...]
) -> tuple[tuple[str, int, str], ...] | None:
    """(contact field, slot or -1, constant text) per field the mapping makes of
    users of this shape; None when a field could depend on a value in another way
    than being it.

    Why this is what mapping.apply gives for every user of the shape: a mapping row
    reads along its path, and the only value it looks at on the way is the one a
    value filter tests (``emails[type eq "work"]`` reads each item's ``type``;
    ``primary`` is compared with true, which a string never is). So no slot may be
    an attribute a row's filter tests; then the rows pick the same places for every
    user, and a field is either a slot's value (a non-blank string, kept as it is)
    or a constant of the template.
    """
    tested: set[tuple[str, ...]] = set()
    for row in rows:
        parsed = parse_path(row.user_field)
        if parsed.value_filter is None:
            continue
        names = _filter_attributes(parsed.value_filter)
        if names is None:
            return None
        base = ((parsed.uri.lower(),) if parsed.uri else ()) + (parsed.attr.lower(), "*")
        tested |= {(*base, name) for name in names}
    if any(path in tested for _, path in template.paths):
        return None
    placeholders = {f"{MARK}{slot}{MARK}": slot for slot, _ in template.paths}
    plan = []
    for field, text in mapping.apply(json.loads(template.sample), rows).items():
        if text in placeholders:
            plan.append((field, placeholders[text], ""))
        elif MARK in text:
            return None
        else:
            plan.append((field, -1, text))
    return tuple(plan)


def _filter_attributes(expr: Any) -> set[str] | None:
    """Lower-cased attribute names a value filter tests; None for forms not known here."""
    if isinstance(expr, Compare | Present):
        return {expr.ref.attr.lower()}
    if isinstance(expr, And | Or):
        left, right = _filter_attributes(expr.left), _filter_attributes(expr.right)
        return None if left is None or right is None else left | right
    if isinstance(expr, Not):
        return _filter_attributes(expr.expr)
    return None


def _digest(content: list[Any]) -> str:
    return _text_digest(json.dumps(content, separators=(",", ":"), ensure_ascii=False))


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
