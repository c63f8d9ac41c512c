"""One process's SQLite writers take turns in the order they came.

SQLite has one writer at a time. A writer that finds the lock taken waits in
SQLite's busy handler, which sleeps and retries (1, 2, 5, … up to 100 ms), so a
writer that commits and begins again at once (a job's next batch) can keep the
lock for as long as it likes while a SCIM PATCH sleeps. Writers of this process
queue here first, first come first served, and each is woken the moment the one
before it commits: a PATCH waits for at most the transaction in progress. Writers
of other processes still meet at SQLite's lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class FairLock:
    """A first-come, first-served lock, reentrant for the thread that holds it."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._queue: deque[int] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return
            self._queue.append(me)
            while self._owner is not None or self._queue[0] != me:
                self._changed.wait()
            self._queue.popleft()
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._changed:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a FairLock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._changed.notify_all()

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
