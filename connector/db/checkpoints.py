"""SQLite's WAL checkpoints in a thread of their own, off the writers' path.

By default SQLite checkpoints inside a commit: the transaction whose commit takes
the write-ahead log past 1,000 pages copies them into the database file before
its commit returns. In a serving process that commit is a SCIM write holding the
process's write lock (connector/db/write_lock.py), so one write in fifty or so
took 5 to 20 ms longer, and every write queued behind it waited as long (the
p99 of writes; more while "Update all synchronized users" fills the log).

A serving process turns SQLite's automatic checkpoints off on its connections
and runs PASSIVE checkpoints here instead, every ``interval`` seconds: a PASSIVE
checkpoint copies what no reader still needs and waits for no one, and readers
and writers go on beside it (WAL mode). When every connection closes, SQLite
checkpoints the rest itself. Processes that do not start this (one-off commands)
keep SQLite's default.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5


class BackgroundCheckpoints:
    """A daemon thread checkpointing one SQLite database file until stopped."""

    def __init__(self, path: str, interval: float | None = None) -> None:
        self.path = path
        self.interval = INTERVAL_SECONDS if interval is None else interval
        self.runs = 0  # checkpoints made (for tests and the curious)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sqlite-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def checkpoint(self, connection: sqlite3.Connection) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, pages in the log, pages checkpointed)."""
        busy, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.runs += 1
        return busy, logged, copied

    def _loop(self) -> None:
        connection = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.checkpoint(connection)
                except sqlite3.Error as exc:  # the next round tries again
                    log.warning("SQLite checkpoint failed: %s", exc)
        finally:
            connection.close()
