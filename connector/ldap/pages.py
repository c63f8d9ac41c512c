"""A page of entries made into users, without the database.

Why its own module: a first import does this in a reader process
(:mod:`connector.ldap.reader_process`), which must not need the database layer.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field, replace
from typing import Any

from connector import mapping as engine
from connector.ids import new_id
from connector.ldap import entries
from connector.ldap.builder import UserBuilder
from connector.ldap.entries import Entry, EntryError
from connector.ldap.settings import LdapSourceConfig
from connector.ldap.sync.base import Counts
from connector.prepared import Prepared


@dataclass(frozen=True)
class Mapped:
    key: str
    dn: str
    marker: str
    resource: dict[str, Any]
    validated: bool  # the resource is already what the user services' validation returns
    digest: str
    prepared: Prepared | None = None


def entry_row(
    source_id: int, fingerprint: str, item: Mapped, user_id: str, run_id: int | None
) -> dict[str, Any]:
    """The ldap_entries row of a newly written entry (its state for later runs)."""
    return {
        "source_id": source_id,
        "entry_id": item.key,
        "user_id": user_id,
        "dn": item.dn,
        "change_marker": stored_marker(fingerprint, item.marker),
        "content_hash": item.digest,
        "gone": False,
        "seen_run": run_id,
    }


@dataclass
class MappedPage:
    """One page made into users: what to write, the keys of entries that could not
    become users (present all the same, so not missing), and every entry's change
    marker (the run's watermark is the newest of them)."""

    counts: Counts
    users: list[Mapped] = field(default_factory=list)
    unmappable: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)

    users_blob: bytes | None = None  # the users, pickled, while the page is packed

    def packed(self) -> MappedPage:
        """For sending to another process: the users travel as one pickled blob,
        opened only where they are needed (a page written from its plan needs only
        the counts, the markers and the unmappable keys), and prepared users keep
        their resource and contact fields as JSON text. :meth:`unpacked` restores."""
        blob = pickle.dumps([_pack(m) for m in self.users], pickle.HIGHEST_PROTOCOL)
        return replace(self, users=[], users_blob=blob)

    def unpacked(self) -> MappedPage:
        if self.users_blob is None:
            return self
        users = [_unpack(m) for m in pickle.loads(self.users_blob)]
        return replace(self, users=users, users_blob=None)


def _pack(user: Mapped) -> tuple[Any, ...]:
    if user.prepared is None:
        return (user,)
    p = user.prepared
    return (
        user.key,
        user.dn,
        user.marker,
        user.validated,
        user.digest,
        (p.user_id, p.resource_json, p.mapping_version, p.contact_id, p.fields_json, p.search_text),
    )


def _unpack(packed: tuple[Any, ...]) -> Mapped:
    if len(packed) == 1:
        return packed[0]
    key, dn, marker, validated, digest, p = packed
    user_id, resource_json, version, contact_id, fields_json, text = p
    prepared = Prepared(
        user_id, resource_json, version, contact_id, json.loads(fields_json), fields_json, text
    )
    return Mapped(key, dn, marker, json.loads(resource_json), validated, digest, prepared)


@dataclass
class MarkerPage:
    """One page of ids and change markers (a reconciliation's first read): per key,
    the marker as stored (with the map's fingerprint) and the DN; every entry's
    raw marker for the watermark."""

    counts: Counts
    stored: dict[str, tuple[str, str]] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)


def stored_marker(fingerprint: str, marker: str) -> str:
    """A change marker as stored: with the map's fingerprint, so that a changed map
    makes every entry differ."""
    return f"{fingerprint}:{marker}"


def marker_page(cfg: LdapSourceConfig, page: list[Entry]) -> MarkerPage:
    found = MarkerPage(Counts(read=len(page)))
    prefix = stored_marker(entries.map_fingerprint(cfg), "")
    for entry in page:
        marker = entries.marker(cfg, entry)
        found.markers.append(marker)
        try:
            key = entries.entry_id(cfg, entry)
        except EntryError as exc:
            found.counts.error(str(exc))
            continue
        # A move keeps the marker on some servers (same second): the DN tells.
        found.stored[key] = (prefix + marker, entry.dn)
    return found


def map_page(
    builder: UserBuilder,
    page: list[Entry],
    *,
    count_read: bool = True,
    contacts: engine.CurrentMapping | None = None,
) -> MappedPage:
    """Users of a page; with ``contacts``, validated users also come ``prepared``."""
    cfg = builder.cfg
    mapped = MappedPage(Counts(read=len(page) if count_read else 0))
    for entry in page:
        marker = entries.marker(cfg, entry)
        mapped.markers.append(marker)
        try:
            key = entries.entry_id(cfg, entry)
        except EntryError as exc:
            mapped.counts.error(str(exc))
            continue
        try:
            user = builder.build(entry, key)
        except EntryError as exc:
            mapped.counts.error(str(exc))
            mapped.unmappable.append(key)
            continue
        prepared = None
        if contacts is not None and user.validated:
            fields = builder.contact_fields(user, contacts.rows)
            prepared = prepare(user.resource, contacts, user.resource_json, fields)
        mapped.users.append(
            Mapped(key, entry.dn, marker, user.resource, user.validated, user.digest, prepared)
        )
    return mapped


def prepare(
    resource: dict[str, Any],
    contacts: engine.CurrentMapping,
    resource_json: str | None = None,
    fields: dict[str, str] | None = None,
) -> Prepared:
    """The work for a new user done ahead; ``resource_json`` and the contact
    ``fields``, when known, are what json.dumps and mapping.apply would make."""
    if fields is None:
        fields = engine.apply(resource, contacts.rows)
    return Prepared(
        user_id=new_id(),
        resource_json=resource_json if resource_json is not None else json.dumps(resource),
        mapping_version=contacts.version,
        contact_id=new_id(),
        fields=fields,
        fields_json=json.dumps(fields),
        search_text=engine.search_text(fields),
    )
