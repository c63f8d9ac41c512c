"""The SQLite writers' lock of one process: first come, first served, reentrant."""

from __future__ import annotations

import threading
import time

import pytest

from connector.db.write_lock import FairLock


def _queued(lock: FairLock, count: int) -> None:
    """Wait until ``count`` threads wait for the lock (no timing is asserted)."""
    deadline = time.monotonic() + 10
    while len(lock._queue) < count:
        assert time.monotonic() < deadline, "the threads never queued"
        time.sleep(0.001)


def test_waiting_writers_get_the_lock_in_the_order_they_came():
    lock = FairLock()
    order: list[str] = []
    lock.acquire()
    threads = []
    for number, name in enumerate(("first", "second", "third"), start=1):

        def write(name: str = name) -> None:
            with lock.held():
                order.append(name)

        thread = threading.Thread(target=write)
        thread.start()
        threads.append(thread)
        _queued(lock, number)
    # The holder lets go and comes back at once (a job's next batch): it queues last.
    returning = threading.Thread(target=lambda: (lock.acquire(), order.append("holder again")))
    lock.release()
    returning.start()
    for thread in threads:
        thread.join(10)
    returning.join(10)
    assert order == ["first", "second", "third", "holder again"]


def test_the_holder_may_take_it_again_and_others_wait_until_it_lets_go_fully():
    lock = FairLock()
    got: list[str] = []
    with lock.held(), lock.held():
        other = threading.Thread(target=lambda: (lock.acquire(), got.append("other")))
        other.start()
        _queued(lock, 1)
        assert got == []
    other.join(10)
    assert got == ["other"]


def test_only_the_holder_can_release():
    lock = FairLock()
    with pytest.raises(RuntimeError):
        lock.release()
