"""Read the directory's next page while the database writes the current one.

Why: a full run alternates between waiting for the directory and waiting for
the database; each wait leaves the other side idle. A reader thread keeps at
most ``depth`` pages ahead, so the two overlap. The order of pages, and every
failure, reach the caller exactly as a plain loop would see them: an error of
the reader is raised where its page would have come, so a run cut short still
stops before deciding anything about missing entries.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_END = object()
POLL_SECONDS = 0.2


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextmanager
def read_ahead(
    produce: Callable[[], Iterable[T]], depth: int = 1, name: str = "ldap-read-ahead"
) -> Iterator[Iterator[T]]:
    """Iterate what ``produce()`` yields, produced in a thread up to ``depth`` items
    ahead. Leaving the block early stops the thread (after the item it is on)."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in produce():
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failure(exc))
            return
        put(_END)

    def consume() -> Iterator[T]:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
