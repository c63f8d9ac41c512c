"""Ids are version-7 UUIDs: valid, unique, and in creation order across milliseconds."""

from __future__ import annotations

import time
import uuid

from connector.ids import new_id


def test_ids_are_version_7_uuids_in_creation_order() -> None:
    first = new_id()
    time.sleep(0.002)
    later = [new_id() for _ in range(1000)]
    parsed = uuid.UUID(first)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert str(parsed) == first
    assert len(set(later)) == 1000
    assert all(first < other for other in later)
    stamp_ms = int(first.replace("-", "")[:12], 16)
    assert abs(stamp_ms - time.time() * 1000) < 60_000
