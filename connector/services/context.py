"""What every service call needs: the database, the catalogues, the settings."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from connector.catalogue import Catalogue, load_catalogue
from connector.config import Settings
from connector.db.engine import Database
from connector.errors import Conflict
from connector.services.failures import is_transient

T = TypeVar("T")


@dataclass
class Context:
    settings: Settings
    db: Database
    catalogue: Catalogue

    @classmethod
    def from_settings(cls, settings: Settings, *, serving: bool = False) -> Context:
        """``serving``: a long-running process (web, worker): SQLite's checkpoints run in
        the background (Database)."""
        database = Database(settings.database_url, background_checkpoints=serving)
        return cls(settings, database, load_catalogue(settings.catalogue_dir))

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        with self._transaction(write=True) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read transaction as a block, for an answer streamed while it reads (the
        vCard export): no write lock, ended as :meth:`read` ends its transaction."""
        with self._transaction(write=False) as session:
            yield session

    def read(self, work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run ``work``, which only reads, in a read transaction (retried like :meth:`run`).

        On SQLite it does not take the write lock, so reads run beside a writer
        (WAL) instead of queueing behind it. ``work`` must not write: on SQLite a
        write in a read transaction can fail at once when another writer committed.
        """
        return self._attempts(work, attempts, write=False)

    def run(self, work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run ``work`` in a transaction, retrying when a concurrent write won the race.

        Each attempt re-reads the current state, so a PATCH is re-applied to the
        newer version instead of overwriting it (no lost updates). The same goes for
        a transaction PostgreSQL aborted to break a deadlock or a serialisation
        conflict. Attempts are bounded and spaced by a growing, jittered pause (so
        that the writers that collided do not collide again); when they run out the
        answer is a 409.
        """
        return self._attempts(work, attempts, write=True)

    def _attempts(self, work: Callable[[Session], T], attempts: int, *, write: bool) -> T:
        lock = self.db.write_lock if write else None
        for attempt in range(1, attempts + 1):
            try:
                with (
                    lock.held() if lock is not None else nullcontext(),
                    self._transaction(write=write) as session,
                ):
                    return work(session)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt == attempts:
                    raise Conflict("the object was changed concurrently; try again") from exc
                time.sleep(retry_pause(attempt))
        raise AssertionError("unreachable")

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Session]:
        """One transaction: committed at the end, or, for a read, ended as the database
        keeps a read from writing (Database.reads_end_with_commit): committed on
        PostgreSQL (READ ONLY: its writes are refused), rolled back on SQLite (nothing
        a read did by mistake is kept)."""
        session = (self.db.sessions if write else self.db.read_sessions)()
        # What a service reads of the configuration inside a transaction (the grace
        # period of deletions: connector.services.deletion).
        session.info["settings"] = self.settings
        try:
            if write:
                with session.begin():
                    yield session
            else:
                session.begin()
                yield session
                if self.db.reads_end_with_commit:
                    session.commit()
                # Otherwise ended by close(): the pool rolls the connection back
                # (reset on return) without the session's bookkeeping.
        finally:
            session.close()


def retry_pause(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: full jitter over 10 ms doubling, capped at 0.5 s."""
    return random.uniform(0, min(0.5, 0.01 * 2 ** (attempt - 1)))
