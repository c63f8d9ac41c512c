"""What every service call needs: the database, the catalogues, the settings."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

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
        with _transaction(self.db.sessions, self.settings) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read transaction as a block, for an answer streamed while it reads (the
        vCard export): no write lock, rolled back at the end, as :meth:`read`."""
        with _transaction(
            self.db.read_sessions,
            self.settings,
            write=False,
            commit_read=self.db.reads_end_with_commit,
        ) as session:
            yield session

    def read(self, work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run ``work``, which only reads, in a read transaction (retried like :meth:`run`).

        On SQLite it does not take the write lock, so reads run beside a writer
        (WAL) instead of queueing behind it. ``work`` must not write: on SQLite a
        write in a read transaction can fail at once when another writer committed.
        """
        return self._attempts(work, attempts, self.db.read_sessions, write=False)

    def run(self, work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run ``work`` in a transaction, retrying when a concurrent write won the race.

        Each attempt re-reads the current state, so a PATCH is re-applied to the
        newer version instead of overwriting it (no lost updates). The same goes for
        a transaction PostgreSQL aborted to break a deadlock or a serialisation
        conflict. Attempts are bounded and spaced by a growing, jittered pause (so
        that the writers that collided do not collide again); when they run out the
        answer is a 409.
        """
        return self._attempts(work, attempts, self.db.sessions, write=True)

    def _attempts(
        self,
        work: Callable[[Session], T],
        attempts: int,
        sessions: sessionmaker[Session],
        *,
        write: bool,
    ) -> T:
        lock = self.db.write_lock if write else None
        for attempt in range(1, attempts + 1):
            try:
                with (
                    lock.held() if lock is not None else nullcontext(),
                    _transaction(
                        sessions,
                        self.settings,
                        write=write,
                        commit_read=self.db.reads_end_with_commit,
                    ) as session,
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
def _transaction(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    write: bool = True,
    commit_read: bool = False,
) -> Iterator[Session]:
    """One transaction: committed at the end, or, for a read, rolled back (nothing a
    read did by mistake is kept; PostgreSQL refuses its writes, see Database), or
    with ``commit_read`` committed where the database keeps a read from writing
    (Database.reads_end_with_commit)."""
    session = sessions()
    # What a service reads of the configuration inside a transaction (the grace
    # period of deletions: connector.services.deletion).
    session.info["settings"] = settings
    try:
        if write:
            with session.begin():
                yield session
        else:
            # SQLite: ended by close(); the connection goes back to the pool, which
            # rolls it back (reset on return) without the session's bookkeeping.
            session.begin()
            yield session
            if commit_read:
                session.commit()
    finally:
        session.close()


def retry_pause(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: full jitter over 10 ms doubling, capped at 0.5 s."""
    return random.uniform(0, min(0.5, 0.01 * 2 ** (attempt - 1)))
