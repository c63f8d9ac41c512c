"""Ids of users, contacts and groups: UUIDs of version 7 (RFC 9562, section 5.7).

Why not random (version 4) ids: a version-7 id starts with the time of its
creation in milliseconds, so rows made together sit next to each other in every
index keyed by id. With random ids, each new row touched a different page of
each such index; a directory import (a thousand users per transaction, five
indexes on ids) then wrote a thousand pages per index per transaction. The ids
stay opaque to clients; they do reveal when a row was created, as ``meta.created``
already does.
"""

from __future__ import annotations

import os
import time
import uuid

_MS = (1 << 48) - 1
_RAND_B = (1 << 62) - 1


def new_id() -> str:
    """unix_ts_ms (48 bits) | version 7 (4) | rand_a (12) | variant 10 (2) | rand_b (62)."""
    random = int.from_bytes(os.urandom(10), "big")
    value = (
        (time.time_ns() // 1_000_000 & _MS) << 80
        | 0x7 << 76
        | (random >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | random & _RAND_B
    )
    return str(uuid.UUID(int=value))
