"""One run per source at a time: across a cluster on PostgreSQL, in-process on SQLite.

A PostgreSQL session-level advisory lock is held on its own connection for the
whole run and dies with that connection, so a crashed node cannot block a source
forever. SQLite is the single-process embedded default: a thread lock suffices.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from connector.db.engine import Database

_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def lock_key(source_name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock."""
    digest = hashlib.sha256(f"connector:ldap-source:{source_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def source_lock(db: Database, source_name: str) -> Iterator[bool]:
    """Yield True when this process now runs the source, False when another one does."""
    if db.dialect == "postgresql":
        key = lock_key(source_name)
        with db.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    with _guard:
        lock = _local_locks.setdefault(f"{db.url}|{source_name}", threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()
