"""A first import's mapped page packed for the pipe from the reader process.

Why the users are pickled on their own, inside the pickled message (a pickle
inside a pickle): a page written from its plan needs only its counts, change
markers and unmappable keys, so this process, the busier one, unpickles the
users (:func:`unpack`) only when the page goes the ordinary way. Prepared users
travel as tuples holding their resource and contact fields as the JSON text they
have anyway; ``json.loads`` restores the dicts.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from typing import Any

from connector.ldap.fast_import.prepared import PreparedNewUser
from connector.ldap.mapped_pages import Mapped, MappedPage
from connector.ldap.sync.base import Counts


@dataclass
class PackedPage:
    """A :class:`MappedPage` whose users are one pickled blob."""

    counts: Counts
    unmappable: list[str]
    markers: list[str]
    users_blob: bytes


def pack(page: MappedPage) -> PackedPage:
    blob = pickle.dumps([_pack(m) for m in page.users], pickle.HIGHEST_PROTOCOL)
    return PackedPage(page.counts, page.unmappable, page.markers, blob)


def unpack(page: PackedPage) -> MappedPage:
    users = [_unpack(m) for m in pickle.loads(page.users_blob)]
    return MappedPage(page.counts, users, page.unmappable, page.markers)


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
    prepared = PreparedNewUser(
        user_id, resource_json, version, contact_id, json.loads(fields_json), fields_json, text
    )
    return Mapped(key, dn, marker, json.loads(resource_json), validated, digest, prepared)
