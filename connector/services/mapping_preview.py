"""What "Update all synchronized users" would do after a mapping save, without saving.

The preview reads the same pages of active links as the job and asks the same
:func:`resync.outcome` for every contact, under the proposed rows instead of the
saved ones; so its counts are the job's, contact for contact. It runs in a
read-only transaction (``Context.read``): one snapshot, no write lock, no audit.
Rows are read in the job's batches as plain Core rows (no ORM object per contact),
and nothing is written, so it takes less time than the job it previews.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from connector.catalogue import Catalogue
from connector.mapping import CurrentMapping
from connector.services import mappings, ownership, resync, sync_settings
from connector.services.linking import SyncState

SAMPLES = 20
MAX_ERROR_MESSAGES = 50


@dataclass
class FieldCounts:
    """Per contact field: values the update would set (were empty), change, or empty."""

    set: int = 0
    changed: int = 0
    emptied: int = 0

    def to_json(self) -> dict[str, int]:
        return {"set": self.set, "changed": self.changed, "emptied": self.emptied}


@dataclass
class Tally:
    contacts: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    left: int = 0
    errors: int = 0
    active_changed: int = 0
    error_messages: list[str] = field(default_factory=list)
    fields: dict[str, FieldCounts] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    changed_ids: list[str] | None = None

    def count_fields(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        for name in before.keys() | after.keys():
            old, new = before.get(name), after.get(name)
            if old == new:
                continue
            counts = self.fields.setdefault(name, FieldCounts())
            if old is None:
                counts.set += 1
            elif new is None:
                counts.emptied += 1
            else:
                counts.changed += 1


def _sample(row: resync.LinkedRow, result: resync.Outcome) -> dict[str, Any]:
    after = None if result.kind is resync.Kind.DELETE else result.fields
    return {
        "contactId": row.contact_id,
        "userId": row.user_id,
        "userName": row.user_name,
        "action": result.kind.value,
        "before": {"fields": row.fields, "active": row.active},
        "after": None if after is None else {"fields": after, "active": result.active},
    }


def _count(tally: Tally, row: resync.LinkedRow, result: resync.Outcome) -> None:
    tally.contacts += 1
    if result.kind is resync.Kind.ERROR:
        tally.errors += 1
        if len(tally.error_messages) < MAX_ERROR_MESSAGES:
            tally.error_messages.append(result.error or "")
        return
    if result.kind is resync.Kind.LEAVE:
        tally.left += 1
        return
    if result.kind is resync.Kind.SAME:
        tally.unchanged += 1
        return
    if result.kind is resync.Kind.DELETE:
        tally.deleted += 1
    else:
        tally.updated += 1
        tally.count_fields(row.fields, result.fields or {})
        tally.active_changed += result.active != row.active
    if len(tally.samples) < SAMPLES:
        tally.samples.append(_sample(row, result))
    if tally.changed_ids is not None:
        tally.changed_ids.append(row.contact_id)


def preview(
    session: Session,
    catalogue: Catalogue,
    raw_rows: Any,
    based_on: int | None,
    *,
    batch: int,
    with_ids: bool = False,
) -> dict[str, Any]:
    """What saving ``raw_rows`` and then running "Update all synchronized users" would
    change; refuses what the save refuses (the same InvalidInput, StaleVersion)."""
    rows = mappings.parse_rows(catalogue, raw_rows)
    current = mappings.current(session)
    mappings.check_based_on(current, based_on)
    version = current.version if rows == current.rows else current.version + 1
    state = SyncState(
        CurrentMapping(version, rows),
        sync_settings.load(session),
        ownership.local_source_ids(session),
    )
    tally = Tally(changed_ids=[] if with_ids else None)
    after = 0
    while True:
        page = resync.page(session, after, batch, state)
        if page.last_link_id is None:
            break
        for row in page.rows:
            _count(tally, row, resync.outcome(row, state))
        after = page.last_link_id
    answer: dict[str, Any] = {
        "mappingVersion": current.version,
        "savedAsVersion": version,
        "contacts": tally.contacts,
        "changed": tally.updated + tally.deleted,
        "updated": tally.updated,
        "deleted": tally.deleted,
        "unchanged": tally.unchanged,
        "leftAlone": tally.left,
        "errors": tally.errors,
        "errorMessages": tally.error_messages,
        "activeChanged": tally.active_changed,
        "fields": {name: tally.fields[name].to_json() for name in sorted(tally.fields)},
        "samples": tally.samples,
    }
    if tally.changed_ids is not None:
        answer["changedContactIds"] = tally.changed_ids
    return answer
