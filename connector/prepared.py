"""Work for a new user done ahead of its write, where CPU is to spare.

Why: a directory's first import reads and maps entries in a reader process
(connector.ldap.reader_process) while this one writes; whatever needs no
database moves there. Plain data, so that it crosses a process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prepared:
    """Ids, JSON text (as SQLAlchemy's JSON type serialises it: ``json.dumps``) and
    the contact's fields under mapping ``mapping_version``. The writer uses the
    contact part only if the current mapping is still that version."""

    user_id: str
    resource_json: str
    mapping_version: int
    contact_id: str
    fields: dict[str, str]
    fields_json: str
    search_text: str
