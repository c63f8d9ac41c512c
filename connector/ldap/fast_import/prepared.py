"""A new user's work done ahead of its write, where CPU is to spare, and the JSON
text the writers splice from it.

Why: a directory's first import reads and maps entries in a reader process
(:mod:`.reader_process`) while this one writes; whatever needs no database moves
there. Plain data, so that it crosses a process boundary.

Why JSON text: the user's resource is the largest piece of JSON a first import
writes, three times (the user row, its audit event, its contact's fields and
audit event). :mod:`.user_templates` makes the resource's text on the way, so the
writers insert text instead of letting the database layer ``json.dumps`` each
value again. Every text made here is exactly what ``json.dumps`` (default
separators, ASCII escapes, the way SQLAlchemy's JSON type serialises) writes for
the same value; ``tests/unit/test_import_rows.py`` checks it. The user services
only see the fields and the two methods below (the ``PreparedUser`` and ``PreparedContact``
protocols of :mod:`connector.services.users` and :mod:`connector.services.linking`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector import mapping as engine
from connector.ids import new_id


@dataclass(frozen=True)
class PreparedNewUser:
    """Ids, JSON text and the contact's fields under mapping ``mapping_version``.
    The writer uses the contact part only if the current mapping is still that
    version."""

    user_id: str
    resource_json: str
    mapping_version: int
    contact_id: str
    fields: dict[str, str]
    fields_json: str
    search_text: str

    def representation_json(self, user_id: str, own: dict[str, Any]) -> str:
        """``json.dumps({"id": user_id, **resource, **own})`` (a user's representation),
        made around the resource's text; ``own`` shares no key with the resource (the
        caller makes sure)."""
        body = self.resource_json[1:-1]
        return (
            '{"id": '
            + json.dumps(user_id)
            + (", " + body if body else "")
            + ", "
            + json.dumps(own)[1:]
        )

    def contact_state_json(self, active: bool) -> str:
        """``json.dumps({"fields": fields, "active": active})`` (what a contact's
        creation event records), made around the fields' text."""
        return '{"fields": ' + self.fields_json + ', "active": ' + json.dumps(active) + "}"


def prepare(
    resource: dict[str, Any],
    contacts: engine.CurrentMapping,
    resource_json: str | None = None,
    fields: dict[str, str] | None = None,
) -> PreparedNewUser:
    """The work for a new user done ahead; ``resource_json`` and the contact
    ``fields``, when known, are what json.dumps and mapping.apply would make."""
    if fields is None:
        fields = engine.apply(resource, contacts.rows)
    return PreparedNewUser(
        user_id=new_id(),
        resource_json=resource_json if resource_json is not None else json.dumps(resource),
        mapping_version=contacts.version,
        contact_id=new_id(),
        fields=fields,
        fields_json=json.dumps(fields),
        search_text=engine.search_text(fields),
    )
