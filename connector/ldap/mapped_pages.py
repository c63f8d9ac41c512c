"""A page of entries made into users (or into ids and change markers), without the
database.

Why its own module: full runs do this in a reader process
(:mod:`connector.ldap.fast_import.reader_process`), which must not need the
database layer; polls and the plain path do it in the run's process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector import mapping as engine
from connector.ldap import entries, fast_import
from connector.ldap.entries import Entry, EntryError
from connector.ldap.fast_import.prepared import PreparedNewUser, prepare
from connector.ldap.fast_import.user_templates import UserBuilder
from connector.ldap.settings import LdapSourceConfig
from connector.ldap.sync.base import Counts


@dataclass(frozen=True)
class Mapped:
    key: str
    dn: str
    marker: str
    resource: dict[str, Any]
    validated: bool  # the resource is already what the user services' validation returns
    digest: str
    prepared: PreparedNewUser | None = None


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
    """Users of a page; with ``contacts``, validated users also come ``prepared``.
    On the plain path (see :func:`connector.ldap.fast_import.enabled`) no user comes
    validated: the user services validate each one."""
    cfg = builder.cfg
    vouched = fast_import.enabled(cfg)
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
        validated = user.validated and vouched
        prepared = None
        if contacts is not None and validated:
            fields = builder.contact_fields(user, contacts.rows)
            prepared = prepare(user.resource, contacts, user.resource_json, fields)
        mapped.users.append(
            Mapped(key, entry.dn, marker, user.resource, validated, user.digest, prepared)
        )
    return mapped
